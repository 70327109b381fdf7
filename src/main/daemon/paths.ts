// Where the per-user backend listens: $XDG_RUNTIME_DIR/hearth/daemon.sock (a 0700 directory of
// this user, removed at logout). Without XDG_RUNTIME_DIR: the system service's /run/hearth-daemon
// for root, /tmp/hearth-UID for others (tmux's convention), checked as strictly as the real one.
import { chmodSync, lstatSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Env } from '../paths'

/** The system unit's RuntimeDirectory (not /run/hearth: that is the helper's, root-only). */
export const systemRuntimeDir = '/run/hearth-daemon'

export function currentUid(): number {
  return process.getuid?.() ?? -1
}

/** The directory that holds this user's socket and lock. */
export function daemonDir(env: Env, uid = currentUid()): string {
  const xdg = env.XDG_RUNTIME_DIR
  if (xdg && xdg.startsWith('/')) return join(xdg, 'hearth')
  if (uid === 0) return systemRuntimeDir
  // No XDG_RUNTIME_DIR (sudo strips it, so does su): logind's directory for this uid when it has one.
  const logind = `/run/user/${uid}`
  try {
    const st = statSync(logind)
    if (st.isDirectory() && st.uid === uid) return join(logind, 'hearth')
  } catch {
    // no login session for this uid
  }
  return join(tmpdir(), `hearth-${uid}`)
}

export function socketPathIn(dir: string): string {
  return join(dir, 'daemon.sock')
}

/**
 * Sockets a client tries, in order: this user's; and for root with a login session, the
 * system service's too (a root shell on a GPU box should find the system daemon).
 */
export function candidateSockets(env: Env, uid = currentUid()): string[] {
  const own = socketPathIn(daemonDir(env, uid))
  const out = [own]
  if (uid === 0 && own !== socketPathIn(systemRuntimeDir)) out.push(socketPathIn(systemRuntimeDir))
  return out
}

/**
 * Makes (or checks) the directory: a real directory, owned by this user, mode 0700. Anything
 * else (a symlink planted in /tmp, another user's directory) is refused with the reason.
 */
export function ensurePrivateDir(dir: string, uid = currentUid()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = lstatSync(dir)
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory (a symlink?); remove it so Hearth can make its own`)
  if (st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not you (uid ${uid}); remove it or set XDG_RUNTIME_DIR`)
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700)
}
