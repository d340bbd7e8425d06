/**
 * Sign-in on AWS: Cognito's hosted UI with the authorization-code flow and PKCE, through
 * oidc-client-ts. The user's tokens are kept in memory (an in-memory user store); only the
 * short-lived state of a sign-in in progress (PKCE verifier, state) waits in sessionStorage
 * across the redirect. Renewal uses the refresh token before the access token expires.
 */

import { InMemoryWebStorage, type User, UserManager, WebStorageStateStore } from 'oidc-client-ts'
import type { HostedAuth } from '../config'
import { countRefresh, RENEW_BEFORE_S, type Session } from './session'

function manager(auth: HostedAuth): UserManager {
  const home = new URL('./', document.baseURI).href
  return new UserManager({
    authority: auth.issuer,
    client_id: auth.clientId,
    redirect_uri: home,
    post_logout_redirect_uri: home,
    response_type: 'code',
    scope: auth.scopes,
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: RENEW_BEFORE_S,
    // Cognito's discovery document has no end_session_endpoint: its logout lives on the hosted UI
    metadataSeed: { end_session_endpoint: `${auth.hostedUiUrl}/logout` },
  })
}

function nameOf(user: User): string {
  const profile = user.profile as Record<string, unknown>
  for (const claim of ['email', 'cognito:username', 'preferred_username', 'sub']) {
    if (typeof profile[claim] === 'string') return profile[claim] as string
  }
  return 'signed in'
}

class HostedSession implements Session {
  readonly user: string
  #user: User

  constructor(
    private readonly users: UserManager,
    private readonly auth: HostedAuth,
    user: User,
  ) {
    this.#user = user
    this.user = nameOf(user)
    users.events.addUserLoaded((renewed) => {
      this.#user = renewed
      countRefresh()
    })
  }

  async token(): Promise<string> {
    if ((this.#user.expires_in ?? 0) < RENEW_BEFORE_S / 2) await this.refresh()
    return this.#user.access_token
  }

  async refresh(): Promise<void> {
    const renewed = await this.users.signinSilent()
    if (renewed) this.#user = renewed
  }

  async signOut(): Promise<void> {
    await this.users.removeUser()
    const logout = new URL(`${this.auth.hostedUiUrl}/logout`)
    logout.searchParams.set('client_id', this.auth.clientId)
    logout.searchParams.set('logout_uri', new URL('./', document.baseURI).href)
    window.location.assign(logout.href)
  }
}

/** The session when this page load is the hosted UI's redirect back with a code; else null. */
export async function completeHostedSignIn(auth: HostedAuth): Promise<Session | null> {
  const here = new URL(window.location.href)
  if (!here.searchParams.has('code') || !here.searchParams.has('state')) return null
  const users = manager(auth)
  const user = await users.signinRedirectCallback()
  // the code is spent: keep it out of the history and of a reload
  window.history.replaceState(null, '', new URL('./', document.baseURI).pathname)
  return new HostedSession(users, auth, user)
}

/** Leave for the hosted UI; it comes back to this page with a code. */
export async function startHostedSignIn(auth: HostedAuth): Promise<void> {
  await manager(auth).signinRedirect()
}
