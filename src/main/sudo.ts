// `sudo hearth serve`: a root backend would hand root's file access to whoever holds the web
// token. So serve starts the privileged helper while still root (acting for SUDO_UID, as every
// helper under sudo does), then drops this process to the sudo user for good: from then on it is
// exactly the desktop case, an ordinary user with a root helper beside it, and the token grants
// what that user may do. The CLI's other commands keep root (one command, typed by an admin);
// the helper still opens files as SUDO_UID for them.
import { userInfo } from 'node:os'
import { HearthError } from '../shared/api'
import { adoptSessionHelper, HelperClient, sudoCallerUid, type HelperClientOptions } from './helper-client'
import type { Env } from './paths'

/**
 * Under `sudo`, as root: starts the session helper for SUDO_UID, hands it to the backend about to
 * be created, and becomes SUDO_UID:SUDO_GID (with that user's groups, HOME and USER). Returns
 * what it did, for the log; null when not under sudo. Refuses to go on as root when it cannot
 * tell the group.
 */
export async function dropSudoRoot(
  env: Env = process.env,
  log: (line: string) => void = () => {},
  helperOpts: HelperClientOptions = {},
): Promise<{ uid: number; gid: number; user: string; helper: boolean } | null> {
  const uid = sudoCallerUid(env)
  if (uid === null) {
    if (process.getuid?.() === 0) log('warning: hearth serve runs as root (not under sudo): whoever holds the token acts as root')
    return null
  }
  const gid = /^(0|[1-9]\d{0,9})$/.test(env.SUDO_GID ?? '') ? Number(env.SUDO_GID) : NaN
  if (!Number.isInteger(gid)) {
    throw new HearthError('BAD_INPUT', 'SUDO_UID is set but SUDO_GID is not: cannot tell which group to run as; run hearth serve as your user, or through sudo itself')
  }
  const helper = new HelperClient({ env, ...helperOpts })
  let started = true
  try {
    await helper.start()
    adoptSessionHelper(helper)
  } catch (err) {
    started = false
    log(`note: the privileged helper did not start (${(err as Error).message}); staging stays unavailable`)
  }
  // initgroups exists on POSIX Node but is missing from @types/node's Process.
  const posix = process as unknown as { initgroups(user: number, extraGroup: number): void }
  posix.initgroups(uid, gid)
  process.setgid!(gid)
  process.setuid!(uid)
  const me = userInfo()
  env.HOME = me.homedir
  env.USER = env.LOGNAME = me.username
  log(`hearth serve: running as ${me.username} (uid ${uid}), not root; privileged actions go through the helper, which acts for ${me.username}`)
  return { uid, gid, user: me.username, helper: started }
}
