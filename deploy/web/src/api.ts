/**
 * The client API as the page uses it (worker/api: POST /v1/uploads[/batch], GET and DELETE
 * /v1/images). Every failure the API explains arrives as an `ApiProblem` carrying its RFC 9457
 * `type` and `detail`, which the page shows as they are.
 */

import type { Session } from './auth/session'

export interface UploadRequest {
  filename: string
  contentType: string
  size: number
}

export interface UploadCreated {
  imageId: string
  key: string
  upload: { url: string; fields: Record<string, string> }
  expiresAt: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
}

export type BatchItem =
  | { index: number; status: 201; upload: UploadCreated }
  | { index: number; status: number; problem: Problem }

export interface Variant {
  name: string
  width: number
  height: number
  format: string
  bytes: number
  url: string
}

export interface Placeholder {
  thumbhash?: string
  color?: string | number[]
}

export type ImageStatus = 'pending' | 'complete' | 'failed' | 'deleted'

export interface ImageView {
  imageId: string
  status: ImageStatus
  originalFilename?: string | null
  processedAt?: string | null
  variants?: Variant[] | null
  urlsExpireAt?: string | null
  error?: { type: string; reason: string; detail: string } | null
  placeholder?: Placeholder | null
}

export interface ImagePage {
  images: ImageView[]
  nextCursor?: string | null
}

export const MAX_BATCH = 100

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail || problem.title || `HTTP ${status}`)
  }
}

async function problemOf(response: Response): Promise<ApiProblem> {
  const body = (await response.json().catch(() => null)) as Partial<Problem> & { message?: string }
  const detail = body?.detail ?? body?.message ?? response.statusText ?? ''
  return new ApiProblem(response.status, {
    type: body?.type ?? `http-${response.status}`,
    title: body?.title ?? `HTTP ${response.status}`,
    status: response.status,
    detail: detail || `HTTP ${response.status}`,
  })
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly session: Session,
  ) {}

  async #call(method: string, path: string, body?: unknown, retried = false): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.session.token()}` }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (response.status === 401 && !retried) {
      // an expired or revoked token: renew once, then ask again
      await this.session.refresh()
      return this.#call(method, path, body, true)
    }
    if (!response.ok) throw await problemOf(response)
    return response
  }

  /** Signed forms for up to 100 files, one outcome per file in their order (201 or 207). */
  async batch(files: UploadRequest[]): Promise<BatchItem[]> {
    const response = await this.#call('POST', '/v1/uploads/batch', { files })
    const result = (await response.json()) as { items: BatchItem[] }
    return result.items
  }

  /** A signed form for one file (a new image id). */
  async upload(file: UploadRequest): Promise<UploadCreated> {
    return (await (await this.#call('POST', '/v1/uploads', file)).json()) as UploadCreated
  }

  /** One image's status and, when complete, its variants with short-lived URLs. */
  async image(imageId: string): Promise<ImageView> {
    return (await (await this.#call('GET', `/v1/images/${encodeURIComponent(imageId)}`)).json()) as ImageView
  }

  /** A page of the user's images, newest first. */
  async images(limit: number, cursor?: string | null): Promise<ImagePage> {
    const query = new URLSearchParams({ limit: String(limit) })
    if (cursor) query.set('cursor', cursor)
    return (await (await this.#call('GET', `/v1/images?${query}`)).json()) as ImagePage
  }

  /** Delete an image: its upload, every render and its results. */
  async remove(imageId: string): Promise<void> {
    await this.#call('DELETE', `/v1/images/${encodeURIComponent(imageId)}`)
  }
}
