/**
 * Following uploaded images until the pipeline commits a result: GET /v1/images/{id} with
 * growing pauses (a photo takes about a second; a queue of 300 takes longer), and only a few
 * requests in flight at once, so 300 cards do not become 300 requests a second.
 */

import type { Api, ImageView } from './api'

const PAUSES_MS = [400, 800, 1200, 2000, 3000, 5000]
const GIVE_UP_MS = 10 * 60 * 1000
const FINAL = new Set(['complete', 'failed', 'deleted'])

/** At most `limit` calls of `run` at once; the rest wait their turn. */
export class Limiter {
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#active += 1
    try {
      return await task()
    } finally {
      this.#active -= 1
      this.#waiting.shift()?.()
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms))

export class Follower {
  readonly #limiter: Limiter

  constructor(
    private readonly api: Api,
    inFlight = 4,
  ) {
    this.#limiter = new Limiter(inFlight)
  }

  /**
   * Poll `imageId` until it is complete, failed or deleted (or ten minutes pass); `onView` gets
   * every answer. Transient errors (the network, a 503) are waited out like a pending answer.
   */
  async follow(imageId: () => string, onView: (view: ImageView) => void): Promise<ImageView | null> {
    const started = Date.now()
    let last: ImageView | null = null
    for (let attempt = 0; Date.now() - started < GIVE_UP_MS; attempt += 1) {
      await sleep(PAUSES_MS[Math.min(attempt, PAUSES_MS.length - 1)])
      try {
        last = await this.#limiter.run(() => this.api.image(imageId()))
      } catch {
        continue // a lost poll is retried at the next pause; the card keeps its last state
      }
      onView(last)
      if (FINAL.has(last.status)) return last
    }
    return last
  }
}
