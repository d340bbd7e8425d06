/**
 * The overall progress panel: a bar, a line of words (files, bytes, rate, time left), and the
 * same numbers as data attributes for tests. Redrawn at most ten times a second.
 */

import { h } from './dom'
import { bytes, duration, rate } from './format'
import { type Overall, overall, RateMeter, type Transfer } from './progress'

export class Panel {
  readonly element: HTMLElement
  readonly #bar: HTMLProgressElement
  readonly #line: HTMLParagraphElement
  readonly #retry: HTMLButtonElement
  readonly #meter = new RateMeter()
  #pending = false

  constructor(
    private readonly transfers: () => Iterable<Transfer>,
    onRetryAll: () => void,
  ) {
    this.#bar = h('progress', { max: 100, value: 0, 'aria-label': 'Overall upload progress' })
    this.#line = h('p', { role: 'status', class: 'overall-line' }, 'Nothing uploaded yet.')
    this.#retry = h('button', { type: 'button', hidden: true, onclick: onRetryAll }, 'Retry failed uploads')
    this.element = h('section', { class: 'overall', id: 'overall', 'aria-label': 'Upload progress', 'data-progress': 0 }, this.#bar, this.#line, this.#retry)
  }

  /** Ask for a redraw (cheap to call on every progress event). */
  update(): void {
    if (this.#pending) return
    this.#pending = true
    window.setTimeout(() => {
      this.#pending = false
      this.#draw()
    }, 100)
  }

  #draw(): void {
    const sums = [...this.transfers()]
    const sent = sums.reduce((total, t) => total + (t.done ? t.bytesTotal : t.bytesSent), 0)
    const state = overall(sums, this.#meter.sample(sent, performance.now()))
    this.#bar.value = state.percent
    this.#line.textContent = words(state)
    this.#retry.hidden = state.filesFailed === 0
    const data = this.element.dataset
    data.progress = String(state.percent)
    data.filesDone = String(state.filesDone)
    data.filesFailed = String(state.filesFailed)
    data.filesTotal = String(state.filesTotal)
    data.bytesSent = String(state.bytesSent)
    data.bytesTotal = String(state.bytesTotal)
  }
}

function words(state: Overall): string {
  if (state.filesTotal === 0) return 'Nothing uploaded yet.'
  const parts = [`${state.filesDone} of ${state.filesTotal} files`, `${bytes(state.bytesSent)} of ${bytes(state.bytesTotal)}`]
  if (state.filesFailed) parts.push(`${state.filesFailed} failed`)
  if (state.percent === 100) return `${parts.join(' · ')} · all sent`
  if (state.rate > 0) parts.push(rate(state.rate))
  if (state.secondsLeft !== null) parts.push(`about ${duration(state.secondsLeft)} left`)
  return parts.join(' · ')
}
