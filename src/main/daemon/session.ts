// The backend of a long-lived front end (the desktop app, `hearth serve`): this user's running
// daemon when there is one, else a backend of its own that becomes the daemon. The front end
// sees one HearthApi throughout; when the daemon it attached to goes away, the session attaches
// to the next one or takes over, and re-subscribes every listener.
import { methods, type DaemonInfo, type HearthApi, type MethodName, type TopicName, type Topics, type Unsubscribe } from '../../shared/api'
import { createBackend, type Backend, type BackendOptions } from '../backend'
import type { Env } from '../paths'
import { findDaemon, hostDaemon, takeDaemonLock, type Attached, type Hosting } from './attach'
import { newHostState, type HostState } from './host-state'

export interface Session {
  /** Stable across switches between daemons */
  readonly api: HearthApi
  readonly mode: 'host' | 'attached'
  /** This process's own backend while it hosts */
  readonly backend: Backend | null
  info(): Promise<DaemonInfo>
  close(): Promise<void>
}

export interface SessionOptions {
  env: Env
  host: HostState['kind']
  backendOptions?: Omit<BackendOptions, 'env' | 'host'>
  /** Fills in what only the front end knows (its login command) */
  hostState?: Partial<HostState>
  log?: (line: string) => void
  /** Told whenever the session switches (attached → host after the daemon quit, …) */
  onSwitch?: (mode: 'host' | 'attached', info: DaemonInfo) => void
}

interface Sub {
  topic: TopicName
  listener: (e: Topics[TopicName]) => void
  off: Unsubscribe
}

/** A HearthApi whose calls and subscriptions go to whichever backend is current. */
function switchable(initial: HearthApi) {
  let target = initial
  const subs = new Set<Sub>()
  const api = {} as Record<string, unknown>
  for (const name of Object.keys(methods) as MethodName[]) {
    api[name] = (input?: unknown) => (target[name] as (i?: unknown) => Promise<unknown>)(input)
  }
  const safeOff = (off: Unsubscribe) => {
    try {
      off()
    } catch {
      // the old connection is gone: nothing to unsubscribe from
    }
  }
  api.subscribe = (topic: TopicName, listener: (e: Topics[TopicName]) => void) => {
    const s: Sub = { topic, listener, off: target.subscribe(topic, listener) }
    subs.add(s)
    return () => {
      safeOff(s.off)
      subs.delete(s)
    }
  }
  return {
    api: api as unknown as HearthApi,
    setTarget(next: HearthApi) {
      target = next
      for (const s of subs) {
        safeOff(s.off)
        s.off = next.subscribe(s.topic, s.listener)
      }
    },
  }
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const log = opts.log ?? (() => {})
  let mode: 'host' | 'attached' = 'attached'
  let own: Backend | null = null
  let hosting: Hosting | null = null
  let attached: Attached | null = null
  let closing = false

  async function host(): Promise<Backend | null> {
    const lock = takeDaemonLock(opts.env)
    if (!lock) return null
    const hostState: HostState = { ...newHostState(opts.host), ...opts.hostState }
    const backend = await createBackend({ ...opts.backendOptions, env: opts.env, host: hostState })
    await backend.start()
    hosting = await hostDaemon(backend, lock, log)
    own = backend
    mode = 'host'
    return backend
  }

  async function alone(why: string): Promise<Backend> {
    log(`${why}; running a backend of our own (not shared)`)
    own = await createBackend({ ...opts.backendOptions, env: opts.env, host: { ...newHostState(opts.host), ...opts.hostState } })
    await own.start()
    mode = 'host'
    return own
  }

  /** Attaches to the daemon, or becomes it; retries while another process is between the two. */
  async function connect(): Promise<HearthApi> {
    for (let attempt = 0; ; attempt++) {
      const found = await findDaemon(opts.env)
      if (found?.attached) {
        const a = found.attached
        attached = a
        mode = 'attached'
        void a.client.closed.then(() => void onLost(a))
        return a.client.api
      }
      const b = await host()
      if (b) return b
      if (found?.foreign) return alone(`the Hearth daemon here (pid ${found.foreign.pid}) serves other settings (${found.foreign.configDir})`)
      // The lock is held but nothing answers yet: a daemon starting up. Wait a little for it.
      if (attempt >= 40) return alone('another Hearth holds the daemon lock but does not answer')
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  const first = await connect()
  const proxy = switchable(first)

  async function onLost(was: Attached): Promise<void> {
    if (closing || attached !== was) return
    attached = null
    log(`the Hearth daemon (pid ${was.info.pid}) went away; attaching to the next one or taking over`)
    const next = await connect()
    proxy.setTarget(next)
    opts.onSwitch?.(mode, await next.daemonInfo())
  }

  return {
    api: proxy.api,
    get mode() {
      return mode
    },
    get backend() {
      return own
    },
    info: () => proxy.api.daemonInfo(),
    async close() {
      closing = true
      attached?.client.close()
      await hosting?.close()
      await own?.stop()
    },
  }
}
