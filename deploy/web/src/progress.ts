/**
 * Overall progress of everything this page is uploading: bytes and files done, the transfer
 * rate (smoothed, so one stalled second does not swing the estimate) and the time left.
 * Refused files never count: they were never going to be sent.
 */

export interface Transfer {
  bytesTotal: number
  bytesSent: number
  /** sent and acknowledged by S3 */
  done: boolean
  /** stopped with an error (it may be retried) */
  failed: boolean
}

export interface Overall {
  percent: number
  bytesSent: number
  bytesTotal: number
  filesDone: number
  filesFailed: number
  filesTotal: number
  /** bytes per second, 0 until measured */
  rate: number
  /** seconds left at that rate; null when unknown or nothing is moving */
  secondsLeft: number | null
}

/** Sum the transfers; 100% only once every file is done (not when the last byte left). */
export function overall(transfers: Iterable<Transfer>, rate: number): Overall {
  let bytesSent = 0
  let bytesTotal = 0
  let filesDone = 0
  let filesFailed = 0
  let filesTotal = 0
  for (const t of transfers) {
    filesTotal += 1
    bytesTotal += t.bytesTotal
    bytesSent += t.done ? t.bytesTotal : Math.min(t.bytesSent, t.bytesTotal)
    if (t.done) filesDone += 1
    else if (t.failed) filesFailed += 1
  }
  const allDone = filesTotal > 0 && filesDone === filesTotal
  const fraction = bytesTotal > 0 ? bytesSent / bytesTotal : allDone ? 1 : 0
  const percent = allDone ? 100 : Math.min(99, Math.floor(fraction * 100))
  const moving = rate > 0 && !allDone && filesDone + filesFailed < filesTotal
  const secondsLeft = moving ? (bytesTotal - bytesSent) / rate : null
  return { percent, bytesSent, bytesTotal, filesDone, filesFailed, filesTotal, rate, secondsLeft }
}

/** The transfer rate from successive byte counts, smoothed exponentially. */
export class RateMeter {
  #last: { at: number; bytes: number } | undefined
  #rate = 0

  constructor(private readonly smoothing = 0.3) {}

  /** Record `bytes` sent so far at time `at` (ms); returns the smoothed rate in bytes/s. */
  sample(bytes: number, at: number): number {
    const last = this.#last
    if (last === undefined || bytes < last.bytes) {
      this.#last = { at, bytes }
      return this.#rate
    }
    const elapsed = (at - last.at) / 1000
    if (elapsed < 0.25) return this.#rate // too close together to mean anything
    const now = (bytes - last.bytes) / elapsed
    this.#rate = this.#rate === 0 ? now : this.smoothing * now + (1 - this.smoothing) * this.#rate
    this.#last = { at, bytes }
    return this.#rate
  }

  get rate(): number {
    return this.#rate
  }
}
