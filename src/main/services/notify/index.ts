// Desktop notifications: one notify(kind, title, body) for every part of Hearth (jobs here; the
// doctor's findings through ctx.notify), each kind switchable in settings and rate-limited. A
// notice goes to whoever listens on the 'notice' topic (the desktop app shows it with Electron's
// Notification); with no listener, to notify-send where a desktop session exists (the daemon).
import { spawn } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { DoctorReport, Job, Notice, NoticeKind } from '../../../shared/api'
import { desktopSettingsFrom } from '../../../shared/contract/daemon'
import type { Hub } from '../../hub'
import type { Env } from '../../paths'
import type { SettingsStore } from '../../settings'

export interface NotifyOptions {
  hub: Hub
  settings: Pick<SettingsStore, 'get'>
  env: Env
  /** Shows a notice when no front end listens; default: notify-send when there is a desktop session */
  fallback?: ((n: Notice) => void) | null
  now?: () => number
  /** At most this many notices of one kind per window */
  burst?: number
  windowMs?: number
  /** The same title and body again within this time is dropped */
  repeatMs?: number
  /** Jobs shorter than this finish silently (the user is still looking) */
  longJobMs?: number
}

export type NotifyService = ReturnType<typeof createNotifyService>

const historySize = 50
const noticeJobKinds = new Set<Job['kind']>(['warm', 'lock', 'stage', 'unstage'])
const verbs: Record<Job['kind'], string> = { warm: 'Warm', rewarm: 'Keep-warm', lock: 'Lock', stage: 'Staging', unstage: 'Unstaging', evict: 'Evict', readtest: 'Read test', lab: 'Load lab' }

function onPath(cmd: string, env: Env): string | null {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK)
      return join(dir, cmd)
    } catch {
      // not here
    }
  }
  return null
}

/** notify-send, when it is installed and a session bus can be reached (never for a system service). */
export function notifySendFallback(env: Env): ((n: Notice) => void) | null {
  const bin = onPath('notify-send', env)
  const busFile = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'bus') : null
  const bus = env.DBUS_SESSION_BUS_ADDRESS ?? (busFile && existsSync(busFile) ? `unix:path=${busFile}` : undefined)
  if (!bin || !bus) return null
  return (n) => {
    const urgency = n.kind === 'jobFailed' || n.kind === 'doctor' ? 'normal' : 'low'
    const child = spawn(bin, ['--app-name=Hearth', '--icon=hearth', `--urgency=${urgency}`, '--', n.title, n.body], {
      stdio: 'ignore',
      env: { ...env, DBUS_SESSION_BUS_ADDRESS: bus },
      timeout: 10_000,
    })
    child.on('error', () => {}) // a notification that cannot be shown is not worth a crash
    child.unref()
  }
}

export function createNotifyService(opts: NotifyOptions) {
  const now = opts.now ?? Date.now
  const burst = opts.burst ?? 3
  const windowMs = opts.windowMs ?? 60_000
  const repeatMs = opts.repeatMs ?? 10 * 60_000
  const longJobMs = opts.longJobMs ?? 15_000
  const fallback = opts.fallback === undefined ? notifySendFallback(opts.env) : opts.fallback
  const shownAt = new Map<NoticeKind, number[]>()
  const lastSame = new Map<string, number>()
  const history: Notice[] = []
  const endedJobs = new Set<string>()
  let offJobs: (() => void) | null = null
  let offDoctor: (() => void) | null = null

  function rateLimited(kind: NoticeKind, key: string, t: number): boolean {
    const same = lastSame.get(key)
    if (same !== undefined && t - same < repeatMs) return true
    const times = (shownAt.get(kind) ?? []).filter((x) => t - x < windowMs)
    shownAt.set(kind, times)
    return times.length >= burst
  }

  /** Raises a notice; returns it, with `suppressed` set when it was not shown. */
  function notify(kind: NoticeKind, title: string, body: string): Notice {
    const t = now()
    const n: Notice = { kind, title, body, atMs: t }
    const key = `${kind}\0${title}\0${body}`
    if (!desktopSettingsFrom(opts.settings.get().desktop).notifications[kind]) n.suppressed = 'off'
    else if (rateLimited(kind, key, t)) n.suppressed = 'rate-limited'
    else {
      shownAt.get(kind)!.push(t)
      lastSame.set(key, t)
      if (lastSame.size > 500) lastSame.delete(lastSame.keys().next().value!)
      if (opts.hub.listenerCount('notice') > 0) opts.hub.publish('notice', n)
      else fallback?.(n)
    }
    history.push(n)
    if (history.length > historySize) history.shift()
    return n
  }

  /** A finished job worth telling: long warms and stages, any re-warm of a pin, any failed re-warm. */
  function onJob(j: Job): void {
    if ((j.status !== 'done' && j.status !== 'failed') || endedJobs.has(j.id)) return
    endedJobs.add(j.id)
    if (endedJobs.size > 1000) endedJobs.delete(endedJobs.values().next().value!)
    const tookMs = j.startedAtMs !== null && j.endedAtMs !== null ? j.endedAtMs - j.startedAtMs : 0
    if (j.kind === 'rewarm') {
      if (j.status === 'done') notify('pinRewarmed', `${j.label} kept warm`, j.note ?? 're-warmed after it fell below the keep-warm threshold')
      else notify('jobFailed', `Keep-warm failed: ${j.label}`, j.error?.message ?? 'failed')
      return
    }
    if (!noticeJobKinds.has(j.kind) || tookMs < longJobMs) return
    if (j.status === 'done') notify('jobDone', `${verbs[j.kind]} finished: ${j.label}`, j.note ?? 'done')
    else notify('jobFailed', `${verbs[j.kind]} failed: ${j.label}`, j.error?.message ?? 'failed')
  }

  /** A doctor run that found something new (or worse) than the run before: one notice for all of it. */
  function onDoctor(r: DoctorReport): void {
    const fresh = r.newSinceLastRun.filter((f) => f.status === 'fail' || f.status === 'warn')
    if (!fresh.length) return
    const [first, ...rest] = [...fresh].sort((a, b) => (a.status === b.status ? 0 : a.status === 'fail' ? -1 : 1))
    const more = rest.length ? ` (and ${rest.length} more: see the Doctor)` : ''
    notify('doctor', `Doctor: ${first.title}`, `${first.why}${more}`)
  }

  return {
    notify,
    recent: (): Notice[] => history.map((n) => ({ ...n })),
    /** Starts telling about finished jobs and new doctor findings */
    start(): void {
      offJobs ??= opts.hub.subscribe('jobs', onJob)
      offDoctor ??= opts.hub.subscribe('doctor', onDoctor)
    },
    stop(): void {
      offJobs?.()
      offDoctor?.()
      offJobs = offDoctor = null
    },
  }
}
