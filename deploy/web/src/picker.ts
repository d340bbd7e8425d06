/**
 * Where files come in: a drop zone that takes files and whole folders (Uppy's own folder
 * walker, the one its Dashboard and DropTarget use), and two buttons, for photos and for a
 * folder, each a labelled file input.
 */

import { getDroppedFiles } from '@uppy/core/utils'
import { h } from './dom'

const ACCEPT = 'image/*,.jpg,.jpeg,.png,.webp,.gif,.tif,.tiff,.heic,.heif,.avif'

/** The upload section; `take` gets every batch of files the user gives. */
export function picker(take: (files: File[]) => void): HTMLElement {
  const photos = h('input', { type: 'file', id: 'pick-files', multiple: true, accept: ACCEPT, class: 'visually-hidden' })
  const folder = h('input', { type: 'file', id: 'pick-folder', class: 'visually-hidden' })
  folder.webkitdirectory = true
  for (const input of [photos, folder]) {
    input.addEventListener('change', () => {
      if (input.files?.length) take([...input.files])
      input.value = '' // the same file picked again is a new choice
    })
  }
  const zone = h(
    'div',
    { class: 'dropzone', id: 'dropzone', 'data-dragging': 'false' },
    h('p', { class: 'drop-hint' }, 'Drop photos or folders here, or'),
    h('div', { class: 'pick' }, h('label', { for: 'pick-files', class: 'button' }, 'Choose photos'), photos, h('label', { for: 'pick-folder', class: 'button' }, 'Choose a folder'), folder),
  )
  zone.addEventListener('dragover', (event) => {
    event.preventDefault() // allows the drop
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy'
    zone.dataset.dragging = 'true'
  })
  zone.addEventListener('dragleave', () => (zone.dataset.dragging = 'false'))
  zone.addEventListener('drop', (event) => {
    event.preventDefault()
    zone.dataset.dragging = 'false'
    if (!event.dataTransfer) return
    void getDroppedFiles(event.dataTransfer).then((files) => files.length && take(files))
  })
  return h('section', { class: 'upload', 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, 'Upload photos'), zone)
}
