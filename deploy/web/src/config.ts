/**
 * The page's configuration: config.json beside index.html, written by whoever serves the page
 * (`imgpipe local up`, or Terraform next to the files in the web bucket). Nothing about a
 * deployment is built into the bundle, so one build serves every deployment.
 */

/** Locally: a user name signs in; the stack hands the page that user's password. */
export interface LocalAuth {
  mode: 'local'
  clientId: string
  userPoolId: string
  region: string
  /** Cognito's JSON API (InitiateAuth), reached through the page's own server. */
  cognitoEndpoint: string
  /** POST {user} -> {username, password}: the local stack's users, created on first use. */
  usersEndpoint: string
}

/** On AWS: the Cognito hosted UI, authorization code with PKCE. */
export interface HostedAuth {
  mode: 'hosted'
  clientId: string
  issuer: string
  hostedUiUrl: string
  scopes: string
}

export type AuthConfig = LocalAuth | HostedAuth

export interface Config {
  apiUrl: string
  auth: AuthConfig
  /** Transfers to S3 at once. */
  concurrency: number
}

export class ConfigError extends Error {}

const DEFAULT_CONCURRENCY = 6

function text(source: Record<string, unknown>, name: string, where: string): string {
  const value = source[name]
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(`config.json: ${where}${name} must be a non-empty string`)
  }
  return value
}

function authFrom(raw: unknown): AuthConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('config.json: auth must be an object')
  const auth = raw as Record<string, unknown>
  if (auth.mode === 'local') {
    return {
      mode: 'local',
      clientId: text(auth, 'clientId', 'auth.'),
      userPoolId: text(auth, 'userPoolId', 'auth.'),
      region: text(auth, 'region', 'auth.'),
      cognitoEndpoint: text(auth, 'cognitoEndpoint', 'auth.'),
      usersEndpoint: text(auth, 'usersEndpoint', 'auth.'),
    }
  }
  if (auth.mode === 'hosted') {
    return {
      mode: 'hosted',
      clientId: text(auth, 'clientId', 'auth.'),
      issuer: text(auth, 'issuer', 'auth.'),
      hostedUiUrl: text(auth, 'hostedUiUrl', 'auth.'),
      scopes: typeof auth.scopes === 'string' ? auth.scopes : 'openid email profile',
    }
  }
  throw new ConfigError(`config.json: auth.mode must be "local" or "hosted", not ${JSON.stringify(auth.mode)}`)
}

/** Parse and check config.json's content; `ConfigError` names the field that is wrong. */
export function parseConfig(raw: unknown): Config {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('config.json must hold an object')
  const source = raw as Record<string, unknown>
  const concurrency = source.concurrency ?? DEFAULT_CONCURRENCY
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new ConfigError('config.json: concurrency must be an integer from 1 to 32')
  }
  return {
    apiUrl: text(source, 'apiUrl', '').replace(/\/+$/, ''),
    auth: authFrom(source.auth),
    concurrency,
  }
}

/** Fetch config.json from beside the page. */
export async function loadConfig(): Promise<Config> {
  const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' })
  if (!response.ok) throw new ConfigError(`config.json could not be read: HTTP ${response.status}`)
  return parseConfig(await response.json())
}
