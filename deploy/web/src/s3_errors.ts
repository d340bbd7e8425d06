/** Why a transfer to S3 failed, in a line: S3's own error code and message when it sent one. */

interface WithRequest {
  message?: string
  request?: XMLHttpRequest
}

/** "EntityTooLarge: Your proposed upload exceeds the maximum allowed size" or the network's word. */
export function s3Failure(error: unknown): string {
  const known = (error ?? {}) as WithRequest
  const xhr = known.request
  if (xhr && xhr.status > 0) {
    const text = typeof xhr.responseText === 'string' ? xhr.responseText : ''
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1]
    const message = /<Message>([^<]+)<\/Message>/.exec(text)?.[1]
    if (code) return message ? `${code}: ${message}` : code
    return `S3 answered HTTP ${xhr.status}`
  }
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return 'this computer is offline'
  return known.message ? `the connection failed (${known.message})` : 'the connection failed'
}
