/**
 * The pipeline's placeholder for an image (`placeholder: {thumbhash, color}` on a complete
 * image): its dominant colour and a ThumbHash, tens of bytes that decode to a blurred preview.
 * Both are painted at once, before any variant is fetched.
 */

import { thumbHashToDataURL } from 'thumbhash'
import type { Placeholder } from './api'

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i

/** A CSS colour from the API's `color` ("#rrggbb" or [r, g, b]); undefined when unusable. */
export function cssColor(color: Placeholder['color']): string | undefined {
  if (typeof color === 'string') return HEX.test(color) ? color : undefined
  if (Array.isArray(color) && color.length >= 3 && color.every((c) => Number.isFinite(c))) {
    const [r, g, b] = color.map((c) => Math.max(0, Math.min(255, Math.round(c))))
    return `rgb(${r} ${g} ${b})`
  }
  return undefined
}

/** The ThumbHash as a PNG data URL; undefined when absent or not base64. */
export function thumbHashImage(hash: string | undefined): string | undefined {
  if (!hash) return undefined
  try {
    const raw = atob(hash.replace(/-/g, '+').replace(/_/g, '/'))
    return thumbHashToDataURL(Uint8Array.from(raw, (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
}

/** Paint `placeholder` as `element`'s background; true when anything was painted. */
export function paintPlaceholder(element: HTMLElement, placeholder: Placeholder | null | undefined): boolean {
  if (!placeholder) return false
  const color = cssColor(placeholder.color)
  const image = thumbHashImage(placeholder.thumbhash)
  if (color) element.style.backgroundColor = color
  if (image) element.style.backgroundImage = `url("${image}")`
  if (color || image) element.dataset.placeholder = image ? 'thumbhash' : 'color'
  return Boolean(color || image)
}
