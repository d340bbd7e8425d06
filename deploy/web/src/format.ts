/** Numbers as people read them: sizes in kB/MB (SI, as file managers show), durations, rates. */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/** 1234567 -> "1.2 MB". */
export function bytes(count: number): string {
  let value = count
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1
  return `${value.toFixed(digits)} ${UNITS[unit]}`
}

/** 75 -> "1 min 15 s"; 4 -> "4 s". */
export function duration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds))
  if (whole < 60) return `${whole} s`
  const minutes = Math.floor(whole / 60)
  if (minutes < 60) return `${minutes} min ${whole % 60} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** Bytes per second -> "1.2 MB/s". */
export function rate(bytesPerSecond: number): string {
  return `${bytes(bytesPerSecond)}/s`
}
