/**
 * Uploads with Uppy: files the page is given get their signed forms from the API first (the
 * batch call, 100 at a time), so a file the API refuses is shown refused before any byte of any
 * file is sent; the rest go straight to S3 as pre-signed POSTs, a few at a time, with Uppy's
 * progress events and its retries with backoff. A transfer that still fails waits on its card
 * for a click on Retry.
 */

import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import { type Api, ApiProblem, MAX_BATCH, type UploadCreated, type UploadRequest } from './api'
import { Card, describe } from './cards'
import type { Follower } from './follow'
import type { Transfer } from './progress'
import { s3Failure } from './s3_errors'

type FileMeta = { imageId: string }
type S3Body = { location: string; key: string }

/** What the page knows about one accepted file. */
interface Entry {
  card: Card
  request: UploadRequest
  form: UploadCreated
  uppyId: string
  bytesSent: number
  done: boolean
  failed: boolean
}

// What a browser leaves File.type empty for, from the name's suffix (the API checks both).
const TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif',
  tif: 'image/tiff', tiff: 'image/tiff', heic: 'image/heic', heif: 'image/heif', avif: 'image/avif',
}
const RENEW_FORM_S = 30 // a form about to expire is replaced before the transfer starts

/** The content type to declare for `file`: the browser's, else by its suffix. */
export function contentTypeOf(file: File): string {
  if (file.type) return file.type
  const suffix = file.name.includes('.') ? file.name.split('.').pop()!.toLowerCase() : ''
  return TYPES[suffix] ?? 'application/octet-stream'
}

function identity(file: File): string {
  const path = (file as File & { relativePath?: string }).relativePath || file.webkitRelativePath || file.name
  return `${path}\u0000${file.size}\u0000${file.lastModified}`
}

export class Uploader {
  readonly uppy: Uppy<FileMeta, S3Body>
  // by the image id each file was first signed for: Uppy's object key for it
  readonly #entries = new Map<string, Entry>()
  readonly #byCard = new WeakMap<Card, Entry>()
  readonly #seen = new Set<string>()
  #signing = 0

  constructor(
    private readonly api: Api,
    private readonly follower: Follower,
    concurrency: number,
    private readonly list: HTMLElement,
    private readonly changed: () => void,
    private readonly settled: () => void = () => undefined,
  ) {
    this.uppy = new Uppy<FileMeta, S3Body>({ autoProceed: true, allowMultipleUploadBatches: true })
    this.uppy.use(AwsS3<FileMeta, S3Body>, {
      limit: concurrency,
      shouldUseMultipart: false, // the API signs single POSTs, bounded by IMGPIPE_MAX_BYTES
      generateObjectKey: (file) => file.meta.imageId,
      signRequest: (request) => this.#sign(request.key),
    })
    this.#listen()
  }

  /** Every accepted file's transfer, for the overall progress. */
  transfers(): Transfer[] {
    return [...this.#entries.values()].map((e) => ({ bytesTotal: e.request.size, bytesSent: e.bytesSent, done: e.done, failed: e.failed }))
  }

  /** True while any file waits for a form or is on its way to S3 (leaving would lose it). */
  busy(): boolean {
    if (this.#signing > 0) return true
    for (const entry of this.#entries.values()) if (!entry.done && !entry.failed) return true
    return false
  }

  /** Failed transfers, to offer "Retry all". */
  failedCount(): number {
    let failed = 0
    for (const entry of this.#entries.values()) if (entry.failed) failed += 1
    return failed
  }

  retryAll(): void {
    void this.uppy.retryAll()
  }

  /** Take files (dropped, picked, or a folder's): a card each, forms from the API, then upload. */
  async add(files: File[]): Promise<{ accepted: number; duplicates: number }> {
    const fresh = files.filter((file) => {
      const key = identity(file)
      if (this.#seen.has(key)) return false
      this.#seen.add(key)
      return true
    })
    const cards = fresh.map((file) => {
      const card: Card = new Card(file.name, file.size, () => this.#retry(card))
      this.list.append(card.element)
      return card
    })
    this.#signing += 1
    this.changed()
    let accepted = 0
    try {
      for (let start = 0; start < fresh.length; start += MAX_BATCH) {
        accepted += await this.#signBatch(fresh.slice(start, start + MAX_BATCH), cards.slice(start, start + MAX_BATCH))
      }
    } finally {
      this.#signing -= 1
      this.changed()
    }
    return { accepted, duplicates: files.length - fresh.length }
  }

  async #signBatch(files: File[], cards: Card[]): Promise<number> {
    const requests = files.map((file) => ({ filename: file.name, contentType: contentTypeOf(file), size: file.size }))
    let items
    try {
      items = await this.api.batch(requests)
    } catch (error) {
      const detail = error instanceof ApiProblem ? error.problem.detail : String(error)
      for (const card of cards) card.setStatus('refused', 'Refused before upload', `No upload form: ${detail}`)
      return 0
    }
    let accepted = 0
    for (const item of items) {
      const card = cards[item.index]
      if (!('upload' in item)) {
        card.setStatus('refused', 'Refused before upload', item.problem.detail, item.problem.type)
        continue
      }
      card.imageId = item.upload.imageId
      const uppyId = this.uppy.addFile({
        name: files[item.index].name,
        type: requests[item.index].contentType,
        data: files[item.index],
        source: 'local',
        meta: { imageId: item.upload.imageId },
      })
      const entry: Entry = { card, request: requests[item.index], form: item.upload, uppyId, bytesSent: 0, done: false, failed: false }
      this.#entries.set(item.upload.imageId, entry)
      this.#byCard.set(card, entry)
      card.setStatus('uploading', 'Queued for upload')
      accepted += 1
    }
    return accepted
  }

  /** Uppy asks to sign the POST of the file it keys by `key` (its first image id). */
  async #sign(key: string): Promise<{ url: string; fields: Record<string, string> }> {
    const entry = this.#entries.get(key)
    if (!entry) throw new Error(`no upload form for ${key}`)
    if (Date.parse(entry.form.expiresAt) - RENEW_FORM_S * 1000 < Date.now()) {
      // retried after its form expired: a new form is a new image id
      entry.form = await this.api.upload(entry.request)
      entry.card.imageId = entry.form.imageId
    }
    return { url: entry.form.upload.url, fields: entry.form.upload.fields }
  }

  #retry(card: Card): void {
    const entry = this.#byCard.get(card)
    if (entry) void this.uppy.retryUpload(entry.uppyId)
  }

  #entryOf(file: { meta: FileMeta } | undefined): Entry | undefined {
    return file ? this.#entries.get(file.meta.imageId) : undefined
  }

  #listen(): void {
    this.uppy.on('upload-progress', (file, progress) => {
      const entry = this.#entryOf(file)
      if (!entry || entry.done) return
      entry.bytesSent = progress.bytesUploaded
      entry.card.setProgress(progress.bytesUploaded, progress.bytesTotal ?? entry.request.size)
      entry.failed = false
      entry.card.setStatus('uploading', 'Uploading')
      this.changed()
    })
    this.uppy.on('upload-success', (file) => {
      const entry = this.#entryOf(file)
      if (!entry) return
      Object.assign(entry, { done: true, failed: false, bytesSent: entry.request.size })
      entry.card.setProgress(1, 1)
      entry.card.setStatus('processing', 'Uploaded; making its sizes…')
      this.changed()
      void this.#follow(entry)
    })
    this.uppy.on('upload-error', (file, error) => {
      const entry = this.#entryOf(file)
      if (!entry) return
      entry.failed = true
      entry.card.setStatus('upload-failed', 'Upload failed; Retry sends it again', s3Failure(error))
      this.changed()
    })
    const restart = (entry: Entry | undefined) => {
      if (!entry) return
      entry.failed = false
      entry.card.setStatus('uploading', 'Retrying…')
      this.changed()
    }
    this.uppy.on('upload-retry', (file) => restart(this.#entryOf(file)))
    this.uppy.on('retry-all', (files) => files.forEach((file) => restart(this.#entryOf(file))))
  }

  /** Show a card's image as deleted (it was deleted from the gallery). */
  markDeleted(imageId: string): void {
    for (const entry of this.#entries.values()) {
      if (entry.form.imageId === imageId) entry.card.setStatus('deleted', 'Deleted')
    }
  }

  async #follow(entry: Entry): Promise<void> {
    await this.follower.follow(
      () => entry.form.imageId,
      (view) => {
        const { status, text, reason, detail } = describe(view)
        entry.card.setStatus(status, text, reason, detail)
        if (view.status === 'complete') entry.card.showImage(view)
      },
    )
    this.settled()
  }
}
