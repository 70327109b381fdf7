// Which files carry a RAM-disk copy right now, read from /proc/self/mountinfo: no privilege and
// no helper needed, so `hearth status` and the residency stream can say "staged" cheaply. The
// helper mounts its tmpfs with the source name "hearth" and binds single files out of it.
import { readFile } from 'node:fs/promises'

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Mount points of file binds from Hearth's tmpfs, in a mountinfo text. */
export function stagedMountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>()
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ')
    if (dash < 0) continue
    const left = line.slice(0, dash).split(' ')
    const [fstype, source] = line.slice(dash + 3).split(' ')
    // left: id parent maj:min root mountpoint options …; a file bind has a root below '/'.
    if (fstype !== 'tmpfs' || source !== 'hearth' || left.length < 5 || left[3] === '/') continue
    out.add(unescapeMountPath(left[4]))
  }
  return out
}

export async function readStagedMountPoints(procRoot = '/proc'): Promise<Set<string>> {
  try {
    return stagedMountPoints(await readFile(`${procRoot}/self/mountinfo`, 'utf8'))
  } catch {
    return new Set()
  }
}
