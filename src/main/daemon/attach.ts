// Finding this user's running backend and attaching to it, or becoming it. "Ours" means the same
// uid (the kernel says so: SO_PEERCRED on the daemon's side, the 0700 directory on ours) and the
// same settings folder: a daemon for another HOME (another test, another setup) is not ours.
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import type { DaemonInfo, HearthApi } from '../../shared/api'
import type { Backend } from '../backend'
import { configDir, type Env } from '../paths'
import { tryLockExclusive } from '../sys/flock'
import { connectUnix, listenUnix, type UnixClient } from '../transport/unix-socket'
import { callerPathsApi } from './caller-paths'
import { candidateSockets, currentUid, daemonDir, ensurePrivateDir, socketPathIn } from './paths'

export interface Attached {
  client: UnixClient
  info: DaemonInfo
  socketPath: string
}

/** HEARTH_NO_DAEMON=1: never attach (run a backend of one's own, as before daemons existed). */
export function attachDisabled(env: Env): boolean {
  return env.HEARTH_NO_DAEMON === '1'
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([p, new Promise<T>((_, fail) => (timer = setTimeout(() => fail(new Error(`${what}: no answer in ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  )
}

/** What a look for the daemon found: ours (attached), one for other settings, or none. */
export type Found = { attached: Attached; foreign?: undefined } | { attached?: undefined; foreign: DaemonInfo } | null

/** Looks for this user's backend; attaches when it runs for the same settings. */
export async function findDaemon(env: Env, timeoutMs = 3000): Promise<Found> {
  if (attachDisabled(env)) return null
  const wantConfig = configDir(env)
  let foreign: DaemonInfo | undefined
  for (const socketPath of candidateSockets(env)) {
    let client: UnixClient
    try {
      client = await connectUnix(socketPath, timeoutMs)
    } catch {
      continue // nothing listens there (ENOENT, ECONNREFUSED: a dead daemon's socket)
    }
    // Where no private runtime directory exists the socket lies in /tmp, where another user can
    // put one first: the kernel's word for who listens, not the daemon's own, decides.
    let peerUid: number | undefined
    try {
      peerUid = client.peer()?.uid
    } catch {
      peerUid = undefined
    }
    if (peerUid !== currentUid()) {
      client.close()
      continue
    }
    try {
      const info = await withTimeout(client.api.daemonInfo(), timeoutMs, socketPath)
      if (info.uid === currentUid() && info.configDir === wantConfig) return { attached: { client, info, socketPath } }
      foreign ??= info
    } catch {
      // an old Hearth without daemonInfo, or one that hung: not something to hand commands to
    }
    client.close()
  }
  return foreign ? { foreign } : null
}

/** Attaches to this user's backend when one runs for the same settings; null otherwise. */
export async function attachToDaemon(env: Env, timeoutMs = 3000): Promise<Attached | null> {
  return (await findDaemon(env, timeoutMs))?.attached ?? null
}

export interface DaemonLock {
  socketPath: string
  /** Frees the lock (the kernel does it too when this process dies) */
  release(): void
}

/**
 * The right to be this user's daemon: an flock on daemon.lock in the 0700 runtime directory,
 * freed by the kernel when the holder dies, so no stale file can fake a running daemon. Null
 * when another process holds it (that one is the daemon).
 */
export function takeDaemonLock(env: Env): DaemonLock | null {
  const dir = daemonDir(env)
  ensurePrivateDir(dir)
  const fd = openSync(join(dir, 'daemon.lock'), 'a', 0o600)
  if (!tryLockExclusive(fd)) {
    closeSync(fd)
    return null
  }
  let held = true
  return {
    socketPath: socketPathIn(dir),
    release() {
      // The lock file stays: unlinking it would let two daemons lock two different files.
      if (held) closeSync(fd)
      held = false
    },
  }
}

export interface Hosting {
  socketPath: string
  close(): Promise<void>
}

/** Makes `backend` this user's daemon: listens on the socket the lock gives the right to. */
export async function hostDaemon(backend: Backend, lock: DaemonLock, log?: (line: string) => void): Promise<Hosting> {
  const server = await listenUnix({ api: backend, path: lock.socketPath, uid: currentUid(), log }).catch((err) => {
    lock.release()
    throw err
  })
  backend.ctx.host.socketPath = lock.socketPath
  backend.ctx.host.clients = server.clients
  return {
    socketPath: lock.socketPath,
    async close() {
      backend.ctx.host.socketPath = null
      await server.close()
      lock.release()
    },
  }
}

/** The CLI's backend: the running daemon's when there is one, else one of its own (as before). */
export type CliBackend = HearthApi & {
  start(): Promise<void>
  stop(): Promise<void>
  /** Set when the commands go to a running daemon */
  readonly attachedTo?: DaemonInfo
}

export async function cliBackend(env: Env, local: () => Promise<Backend>): Promise<CliBackend> {
  const a = await attachToDaemon(env)
  if (!a) return local()
  return { ...callerPathsApi(a.client.api, process.cwd()), attachedTo: a.info, start: async () => {}, stop: async () => a.client.close() }
}
