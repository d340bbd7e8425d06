/**
 * The user's images, newest first, a page at a time (GET /v1/images with nextCursor); each opens
 * in the viewer. Thumbnails paint their placeholder first.
 */

import type { Api, ImageView } from './api'
import { h } from './dom'
import { paintPlaceholder } from './placeholder'
import type { Viewer } from './viewer'

const PAGE = 24

export class Gallery {
  readonly element: HTMLElement
  readonly #list: HTMLUListElement
  readonly #more: HTMLButtonElement
  readonly #status: HTMLParagraphElement
  #cursor: string | null = null

  constructor(
    private readonly api: Api,
    private readonly viewer: Viewer,
  ) {
    this.#list = h('ul', { class: 'gallery-list', 'aria-label': 'Your images' })
    this.#status = h('p', { role: 'status', class: 'gallery-status' })
    this.#more = h('button', { type: 'button', hidden: true, onclick: () => void this.load(false) }, 'Load more images')
    const refresh = h('button', { type: 'button', onclick: () => void this.load(true) }, 'Refresh gallery')
    this.element = h(
      'section',
      { class: 'gallery', 'aria-labelledby': 'gallery-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'gallery-title' }, 'Your images'), refresh),
      this.#list,
      this.#status,
      this.#more,
    )
  }

  /** The first page (`reset`) or the next one. */
  async load(reset: boolean): Promise<void> {
    if (reset) this.#cursor = null
    this.#status.textContent = 'Loading your images…'
    try {
      const page = await this.api.images(PAGE, this.#cursor)
      const items = page.images.filter((view) => view.status !== 'deleted').map((view) => this.#item(view))
      if (reset) this.#list.replaceChildren(...items)
      else this.#list.append(...items)
      this.#cursor = page.nextCursor ?? null
      this.#more.hidden = this.#cursor === null
      this.#status.textContent = this.#list.children.length ? '' : 'No images yet.'
    } catch (error) {
      this.#status.textContent = `Could not load your images: ${(error as Error).message}`
    }
    this.element.dataset.count = String(this.#list.children.length)
  }

  /** Take a deleted image off the list. */
  remove(imageId: string): void {
    this.#list.querySelector(`li[data-image-id="${CSS.escape(imageId)}"]`)?.remove()
    this.element.dataset.count = String(this.#list.children.length)
  }

  #item(view: ImageView): HTMLLIElement {
    const name = view.originalFilename || view.imageId
    const thumb = h('span', { class: 'thumb' })
    paintPlaceholder(thumb, view.placeholder)
    const thumbnail = view.variants?.find((v) => v.name === 'thumbnail')
    if (thumbnail) thumb.append(h('img', { src: thumbnail.url, alt: '', width: 150, height: 150, loading: 'lazy', decoding: 'async' }))
    else thumb.append(h('span', { class: 'thumb-status' }, view.status === 'failed' ? 'failed' : 'processing'))
    const open = h('button', { type: 'button', class: 'open', 'aria-label': `Open ${name}`, onclick: () => void this.viewer.open(view.imageId, name) }, thumb, h('span', { class: 'caption' }, name))
    return h('li', { 'data-image-id': view.imageId, 'data-status': view.status }, open)
  }
}
