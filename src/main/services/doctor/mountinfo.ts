// /proc/PID/mountinfo, whole: the mount each model file lives on, its filesystem type and the
// options that decide caching (fsc on NFS/CIFS, huge= on tmpfs).
import { makedev } from '../procs'

export interface MountEntry {
  id: number
  parent: number
  dev: number
  majMin: string
  /** The root of the mount within its filesystem ("/" unless a bind of a subtree or a file) */
  root: string
  mountPoint: string
  /** Per-mount options (rw,relatime …) */
  options: string
  fstype: string
  source: string
  /** Filesystem options (for NFS: vers=4.2,…,fsc,…) */
  superOptions: string
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Every well-formed line; malformed lines are counted, not fatal. */
export function parseMountinfo(text: string): { mounts: MountEntry[]; malformed: number } {
  const mounts: MountEntry[] = []
  let malformed = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const dash = line.indexOf(' - ')
    const left = dash < 0 ? [] : line.slice(0, dash).split(' ')
    const right = dash < 0 ? [] : line.slice(dash + 3).split(' ')
    const mm = /^(\d+):(\d+)$/.exec(left[2] ?? '')
    if (left.length < 6 || right.length < 2 || !mm || !/^\d+$/.test(left[0])) {
      malformed++
      continue
    }
    mounts.push({
      id: Number(left[0]),
      parent: Number(left[1]),
      dev: makedev(Number(mm[1]), Number(mm[2])),
      majMin: left[2],
      root: unescapeMountField(left[3]),
      mountPoint: unescapeMountField(left[4]),
      options: left[5],
      fstype: right[0],
      source: unescapeMountField(right[1]),
      superOptions: right[2] ?? '',
    })
  }
  return { mounts, malformed }
}

export const networkFsTypes = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs'])

export function isNetworkFs(fstype: string): boolean {
  return networkFsTypes.has(fstype)
}
export function isFuseFs(fstype: string): boolean {
  return fstype === 'fuse' || fstype === 'fuseblk' || fstype.startsWith('fuse.')
}

/** True when `opt` is one of the comma-separated options (exactly, or as key=value). */
export function hasOption(options: string, opt: string): boolean {
  return options.split(',').some((o) => o === opt || o.startsWith(`${opt}=`))
}

/**
 * The mount a file (by its device and real path) lives on: the mount of that device whose mount
 * point is the longest prefix of the path. Bind mounts of one device appear several times.
 */
export function mountOf(mounts: readonly MountEntry[], dev: number, realPath: string): MountEntry | undefined {
  let best: MountEntry | undefined
  for (const m of mounts) {
    if (m.dev !== dev) continue
    const inside = m.mountPoint === '/' || realPath === m.mountPoint || realPath.startsWith(m.mountPoint + '/')
    if (!inside) {
      best ??= m
      continue
    }
    if (!best || !isPrefix(best, realPath) || m.mountPoint.length > best.mountPoint.length) best = m
  }
  return best
}

function isPrefix(m: MountEntry, p: string): boolean {
  return m.mountPoint === '/' || p === m.mountPoint || p.startsWith(m.mountPoint + '/')
}
