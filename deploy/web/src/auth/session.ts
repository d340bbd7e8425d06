/**
 * What the rest of the page knows about signing in: a user's name and a way to get a current
 * access token. Tokens live in memory only (never localStorage): a reload signs in again.
 */

export interface Session {
  /** Who is signed in, for the page to say. */
  readonly user: string
  /** A current access token, refreshed first when it is about to expire. */
  token(): Promise<string>
  /** Get new tokens now (the API said the token was refused). */
  refresh(): Promise<void>
  /** Forget the tokens (and, on AWS, end the hosted UI's session). */
  signOut(): Promise<void>
}

/** Seconds before expiry at which a token is renewed. */
export const RENEW_BEFORE_S = 60

/** Count a refresh on <body data-token-refreshes>, so a test can see one happened. */
export function countRefresh(): void {
  const body = document.body
  body.dataset.tokenRefreshes = String(Number(body.dataset.tokenRefreshes ?? '0') + 1)
}
