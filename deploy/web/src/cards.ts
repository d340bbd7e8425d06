/**
 * One card per file the user gave the page: what happened to it, from the upload form to the
 * pipeline's verdict. `data-status` and `data-image-id` say it to tests; the text says it to
 * people: a refusal with the API's detail, a failure with the pipeline's reason.
 */

import type { ImageView } from './api'
import { h } from './dom'
import { bytes } from './format'
import { paintPlaceholder } from './placeholder'

export type CardStatus =
  | 'waiting' // asking the API for an upload form
  | 'refused' // the API would not take it; no byte was sent
  | 'uploading'
  | 'upload-failed' // the transfer to S3 failed; Retry resumes it
  | 'processing' // in S3; the pipeline has not committed a result yet
  | 'complete'
  | 'failed' // the pipeline gave up on it, with a reason
  | 'deleted'

export class Card {
  readonly element: HTMLLIElement
  readonly #thumb: HTMLDivElement
  readonly #image: HTMLImageElement
  readonly #bar: HTMLProgressElement
  readonly #status: HTMLParagraphElement
  readonly #reason: HTMLParagraphElement
  readonly #retry: HTMLButtonElement

  constructor(
    readonly name: string,
    readonly size: number,
    onRetry: () => void,
  ) {
    this.#image = h('img', { alt: `${name}, thumbnail`, width: 150, height: 150, decoding: 'async', hidden: true })
    this.#thumb = h('div', { class: 'thumb' }, this.#image)
    this.#bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload progress of ${name}` })
    this.#status = h('p', { class: 'status' })
    this.#reason = h('p', { class: 'reason', hidden: true })
    this.#retry = h('button', { type: 'button', hidden: true, 'aria-label': `Retry upload of ${name}`, onclick: onRetry }, 'Retry')
    this.element = h(
      'li',
      { class: 'card', 'aria-label': name, 'data-file-name': name },
      this.#thumb,
      h('div', { class: 'card-body' }, h('p', { class: 'name' }, name), h('p', { class: 'size' }, bytes(size)), this.#bar, this.#status, this.#reason, this.#retry),
    )
    this.setStatus('waiting', 'Waiting for an upload form…')
  }

  get status(): CardStatus {
    return this.element.dataset.status as CardStatus
  }

  get imageId(): string | undefined {
    return this.element.dataset.imageId
  }

  set imageId(id: string) {
    this.element.dataset.imageId = id
  }

  /** Show `status` with a line of text; a reason (and its detail) for refusals and failures. */
  setStatus(status: CardStatus, text: string, reason?: string, detail?: string): void {
    this.element.dataset.status = status
    this.#status.textContent = text
    this.#reason.hidden = !reason
    this.#reason.textContent = reason ?? ''
    if (detail) this.#reason.title = detail
    this.#retry.hidden = status !== 'upload-failed'
    this.#bar.hidden = status === 'refused'
  }

  /** Bytes sent of this file so far. */
  setProgress(sent: number, total: number): void {
    const percent = total > 0 ? Math.floor((sent / total) * 100) : 0
    this.#bar.value = percent
    this.element.dataset.progress = String(percent)
  }

  /** The pipeline's result: its placeholder at once, then the thumbnail once it has loaded. */
  showImage(view: ImageView): void {
    paintPlaceholder(this.#thumb, view.placeholder)
    const thumbnail = view.variants?.find((v) => v.name === 'thumbnail') ?? view.variants?.at(-1)
    if (!thumbnail) return
    this.#image.addEventListener(
      'load',
      () => {
        this.#image.hidden = false
        this.element.dataset.thumbnail = 'loaded'
      },
      { once: true },
    )
    this.#image.addEventListener('error', () => (this.element.dataset.thumbnail = 'broken'), { once: true })
    this.#image.src = thumbnail.url
  }
}

/** The text and reason of a card for an image the API reported on. */
export function describe(view: ImageView): { status: CardStatus; text: string; reason?: string; detail?: string } {
  switch (view.status) {
    case 'complete':
      return { status: 'complete', text: `Ready: ${view.variants?.length ?? 0} sizes` }
    case 'failed':
      return {
        status: 'failed',
        text: 'Could not be processed',
        reason: view.error?.reason ?? 'the pipeline gave no reason',
        detail: view.error?.detail,
      }
    case 'deleted':
      return { status: 'deleted', text: 'Deleted' }
    default:
      return { status: 'processing', text: 'Uploaded; making its sizes…' }
  }
}
