/**
 * Sign-in on the local stack: the user types a name, the page's own server (the local stack)
 * creates that user in the moto server's pool if new and hands back its derived password, as
 * `imgpipe login` does, and the page signs in with Cognito's own InitiateAuth
 * (USER_PASSWORD_AUTH), then renews with REFRESH_TOKEN_AUTH before the access token expires.
 *
 * Cognito's JSON API is reached through the page's server (same origin): the moto server routes
 * a CORS preflight without AWS headers to S3 and fails it, so a browser cannot call it directly.
 */

import type { LocalAuth } from '../config'
import { countRefresh, RENEW_BEFORE_S, type Session } from './session'

interface AuthenticationResult {
  AccessToken: string
  IdToken: string
  RefreshToken?: string
  ExpiresIn: number
}

export class SignInError extends Error {}

async function cognito(auth: LocalAuth, target: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(auth.cognitoEndpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AWSCognitoIdentityProviderService.${target}`,
    },
    body: JSON.stringify(body),
  })
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>
  if (!response.ok) {
    const message = typeof answer.message === 'string' ? answer.message : `HTTP ${response.status}`
    throw new SignInError(`Cognito refused ${target}: ${message}`)
  }
  return answer
}

function resultOf(answer: Record<string, unknown>): AuthenticationResult {
  const result = answer.AuthenticationResult as AuthenticationResult | undefined
  if (!result?.AccessToken) throw new SignInError('Cognito answered without tokens (a challenge?)')
  return result
}

class PasswordSession implements Session {
  #result: AuthenticationResult
  #refreshToken: string
  #expiresAt = 0
  #timer: number | undefined
  #refreshing: Promise<void> | undefined

  constructor(
    readonly user: string,
    private readonly auth: LocalAuth,
    result: AuthenticationResult,
  ) {
    this.#result = result
    this.#refreshToken = result.RefreshToken ?? ''
    this.#took(result)
  }

  #took(result: AuthenticationResult): void {
    this.#result = result
    this.#expiresAt = Date.now() + result.ExpiresIn * 1000
    window.clearTimeout(this.#timer)
    const inMs = Math.max(5, result.ExpiresIn - RENEW_BEFORE_S) * 1000
    this.#timer = window.setTimeout(() => void this.refresh().catch(() => undefined), inMs)
  }

  async token(): Promise<string> {
    if (Date.now() > this.#expiresAt - RENEW_BEFORE_S * 500) await this.refresh()
    return this.#result.AccessToken
  }

  refresh(): Promise<void> {
    // one renewal at a time: a burst of 401s must not spend the refresh token many times over
    this.#refreshing ??= cognito(this.auth, 'InitiateAuth', {
      ClientId: this.auth.clientId,
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: this.#refreshToken },
    })
      .then((answer) => {
        this.#took(resultOf(answer))
        countRefresh()
      })
      .finally(() => {
        this.#refreshing = undefined
      })
    return this.#refreshing
  }

  async signOut(): Promise<void> {
    window.clearTimeout(this.#timer)
    this.#refreshToken = ''
    this.#expiresAt = 0
  }
}

/** Sign `user` in on the local stack's pool. */
export async function signInLocal(auth: LocalAuth, user: string): Promise<Session> {
  const response = await fetch(auth.usersEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  })
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>
  if (!response.ok || typeof answer.password !== 'string') {
    throw new SignInError(typeof answer.detail === 'string' ? answer.detail : `HTTP ${response.status}`)
  }
  const username = typeof answer.username === 'string' ? answer.username : user
  const result = resultOf(
    await cognito(auth, 'InitiateAuth', {
      ClientId: auth.clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: username, PASSWORD: answer.password },
    }),
  )
  return new PasswordSession(username, auth, result)
}
