/**
 * One image opened from the gallery: its variants with their sizes, the image itself through an
 * <img srcset> of those variants (the browser picks the width it needs), and Delete.
 * A modal <dialog>: focus stays inside, Escape closes it.
 */

import type { Api, ImageView, Variant } from './api'
import { h } from './dom'
import { bytes } from './format'
import { paintPlaceholder } from './placeholder'

const SIZES = '(max-width: 960px) 92vw, 880px'

/**
 * `url 320w, url 800w, ...` of the variants that keep the photo's shape (not the square
 * thumbnail), one per width: a small photo's sizes are never enlarged, so several can share a
 * width, and a srcset may not name a width twice (the fewest bytes wins).
 */
export function srcset(variants: Variant[]): string {
  const byWidth = new Map<number, Variant>()
  for (const v of variants) {
    if (v.name === 'thumbnail') continue
    const known = byWidth.get(v.width)
    if (!known || v.bytes < known.bytes) byWidth.set(v.width, v)
  }
  return [...byWidth.values()]
    .sort((a, b) => a.width - b.width)
    .map((v) => `${v.url} ${v.width}w`)
    .join(', ')
}

export class Viewer {
  readonly element: HTMLDialogElement
  readonly #body: HTMLDivElement
  readonly #title: HTMLHeadingElement

  constructor(
    private readonly api: Api,
    private readonly onDeleted: (imageId: string) => void,
  ) {
    this.#title = h('h2', { id: 'viewer-title' })
    this.#body = h('div', { class: 'viewer-body' })
    const close = h('button', { type: 'button', class: 'close', onclick: () => this.element.close() }, 'Close')
    this.element = h('dialog', { class: 'viewer', 'aria-labelledby': 'viewer-title' }, h('div', { class: 'viewer-head' }, this.#title, close), this.#body)
  }

  /** Fetch the image afresh (its URLs are short-lived) and show it. */
  async open(imageId: string, name: string): Promise<void> {
    this.#title.textContent = name
    this.#body.replaceChildren(h('p', { role: 'status' }, 'Loading…'))
    this.element.dataset.imageId = imageId
    if (!this.element.open) this.element.showModal()
    try {
      this.#show(await this.api.image(imageId), name)
    } catch (error) {
      this.#body.replaceChildren(h('p', { role: 'alert' }, `Could not load this image: ${(error as Error).message}`))
    }
  }

  #show(view: ImageView, name: string): void {
    const parts: Node[] = [h('p', { class: 'viewer-status', 'data-status': view.status }, statusLine(view))]
    if (view.error) parts.push(h('p', { class: 'reason' }, view.error.reason), h('p', { class: 'detail' }, view.error.detail))
    const variants = view.variants ?? []
    if (variants.length) {
      const frame = h('div', { class: 'frame' })
      paintPlaceholder(frame, view.placeholder)
      const largest = [...variants].sort((a, b) => b.width - a.width)[0]
      const image = h('img', { alt: name, srcset: srcset(variants), sizes: SIZES, src: largest.url, width: largest.width, height: largest.height })
      image.addEventListener('load', () => (image.dataset.loaded = 'true'), { once: true })
      frame.append(image)
      parts.push(frame, table(variants))
    }
    if (view.status !== 'deleted') parts.push(this.#deleteControls(view.imageId, name))
    this.#body.replaceChildren(...parts)
  }

  #deleteControls(imageId: string, name: string): HTMLElement {
    const status = h('p', { role: 'status', class: 'delete-status' })
    const confirm = h('div', { class: 'confirm', hidden: true }, h('p', {}, `Delete ${name} and all its sizes for good?`))
    const ask = h('button', { type: 'button', class: 'danger', onclick: () => ((confirm.hidden = false), yes.focus()) }, 'Delete image')
    const yes: HTMLButtonElement = h('button', { type: 'button', class: 'danger', onclick: () => void this.#delete(imageId, status, yes) }, 'Yes, delete')
    const keep = h('button', { type: 'button', onclick: () => ((confirm.hidden = true), ask.focus()) }, 'Keep it')
    confirm.append(yes, keep)
    return h('div', { class: 'actions' }, ask, confirm, status)
  }

  async #delete(imageId: string, status: HTMLElement, button: HTMLButtonElement): Promise<void> {
    button.disabled = true
    status.textContent = 'Deleting…'
    try {
      await this.api.remove(imageId)
    } catch (error) {
      status.textContent = `Not deleted: ${(error as Error).message}`
      button.disabled = false
      return
    }
    this.onDeleted(imageId)
    this.element.close()
  }
}

function statusLine(view: ImageView): string {
  if (view.status === 'complete') return `Ready: ${view.variants?.length ?? 0} sizes`
  if (view.status === 'failed') return 'Could not be processed'
  if (view.status === 'deleted') return 'Deleted'
  return 'Still being processed'
}

function table(variants: Variant[]): HTMLTableElement {
  const rows = variants.map((v) =>
    h('tr', { 'data-variant': v.name }, h('th', { scope: 'row' }, h('a', { href: v.url, target: '_blank', rel: 'noopener' }, v.name)), h('td', {}, `${v.width} × ${v.height}`), h('td', {}, v.format.toUpperCase()), h('td', {}, bytes(v.bytes))),
  )
  return h(
    'table',
    { class: 'variants' },
    h('caption', {}, 'Sizes'),
    h('thead', {}, h('tr', {}, ...['Size', 'Pixels', 'Format', 'Bytes'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows),
  )
}
