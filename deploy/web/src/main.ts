/**
 * The uploader page: read config.json, sign in, then the upload area, the cards of this
 * session's uploads, and the gallery of everything the user has.
 */

import './styles.css'
import { Api } from './api'
import { completeHostedSignIn, startHostedSignIn } from './auth/hosted'
import { signInLocal } from './auth/local'
import type { Session } from './auth/session'
import { type Config, loadConfig } from './config'
import { byId, h } from './dom'
import { Follower } from './follow'
import { Gallery } from './gallery'
import { Panel } from './panel'
import { picker } from './picker'
import { Uploader } from './uploader'
import { Viewer } from './viewer'

const GALLERY_REFRESH_MS = 1500

function setState(state: string): void {
  document.body.dataset.state = state
}

/** The local stack's sign-in: a user name, created on first use. */
function localSignIn(config: Config & { auth: { mode: 'local' } }, main: HTMLElement): Promise<Session> {
  return new Promise((resolve) => {
    const name = h('input', { id: 'user-name', name: 'user', autocomplete: 'username', required: true, maxlength: 128, pattern: '[A-Za-z0-9._@+\\-]+' })
    const error = h('p', { role: 'alert', class: 'error' })
    const submit = h('button', { type: 'submit' }, 'Sign in')
    const form = h(
      'form',
      { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
      h('h2', { id: 'sign-in-title' }, 'Sign in'),
      h('p', { class: 'hint' }, 'Local stack: any user name signs in (a new one is created).'),
      h('label', { for: 'user-name' }, 'User name'),
      name,
      submit,
      error,
    )
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      submit.disabled = true
      error.textContent = ''
      signInLocal(config.auth, name.value.trim()).then(resolve, (reason: Error) => {
        error.textContent = `Could not sign in: ${reason.message}`
        submit.disabled = false
      })
    })
    main.replaceChildren(form)
    setState('signed-out')
    name.focus()
  })
}

async function signIn(config: Config, main: HTMLElement): Promise<Session | null> {
  if (config.auth.mode === 'local') return localSignIn(config as Config & { auth: { mode: 'local' } }, main)
  const returning = await completeHostedSignIn(config.auth)
  if (returning) return returning
  const auth = config.auth
  const button = h('button', { type: 'button', onclick: () => void startHostedSignIn(auth) }, 'Sign in')
  main.replaceChildren(h('section', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' }, h('h2', { id: 'sign-in-title' }, 'Sign in'), h('p', {}, 'You sign in on the account page, then come back here.'), button))
  setState('signed-out')
  return null
}

function showAccount(session: Session): void {
  const out = h('button', { type: 'button', onclick: () => void session.signOut().then(() => window.location.reload()) }, 'Sign out')
  byId('account').replaceChildren(h('span', { class: 'who' }, 'Signed in as ', h('strong', {}, session.user)), out)
}

function showApp(config: Config, session: Session, main: HTMLElement): void {
  const api = new Api(config.apiUrl, session)
  let refreshTimer: number | undefined
  const refreshGallery = () => {
    window.clearTimeout(refreshTimer)
    refreshTimer = window.setTimeout(() => void gallery.load(true), GALLERY_REFRESH_MS)
  }
  const cards = h('ul', { class: 'cards', 'aria-label': 'Uploads' })
  const uploader: Uploader = new Uploader(api, new Follower(api), config.concurrency, cards, () => panel.update(), refreshGallery)
  const panel = new Panel(() => uploader.transfers(), () => uploader.retryAll())
  const viewer = new Viewer(api, (imageId) => {
    gallery.remove(imageId)
    uploader.markDeleted(imageId)
  })
  const gallery = new Gallery(api, viewer)
  const uploads = h('section', { class: 'uploads', 'aria-labelledby': 'uploads-title' }, h('h2', { id: 'uploads-title' }, 'This session’s uploads'), panel.element, cards)
  main.replaceChildren(picker((files) => void uploader.add(files)), uploads, gallery.element, viewer.element)
  window.addEventListener('beforeunload', (event) => {
    if (!uploader.busy()) return
    event.preventDefault() // the browser asks "Leave site?": uploads in flight would be lost
    event.returnValue = ''
  })
  setState('ready')
  main.focus() // the sign-in form that had focus is gone: without this, focus falls to <body>
  void gallery.load(true)
}

async function boot(): Promise<void> {
  const main = byId('main')
  let config: Config
  try {
    config = await loadConfig()
  } catch (error) {
    main.replaceChildren(h('p', { role: 'alert', class: 'error' }, `The uploader cannot start: ${(error as Error).message}`))
    setState('broken')
    return
  }
  let session: Session | null
  try {
    session = await signIn(config, main)
  } catch (error) {
    // e.g. the hosted UI came back with an error, or a stale code
    main.replaceChildren(h('p', { role: 'alert', class: 'error' }, `Could not sign in: ${(error as Error).message}`), h('a', { href: './' }, 'Try again'))
    setState('signed-out')
    return
  }
  if (!session) return
  showAccount(session)
  showApp(config, session, main)
}

void boot()
