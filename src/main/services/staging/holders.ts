// Which processes hold a file: an open fd or a mapping, matched by device + inode (a process
// that opened the file before a bind mount holds the original inode and shows the same path,
// so paths cannot tell them apart). Sees only the processes this user may inspect; the helper
// repeats the check as root before it unmounts anything. The scan itself is services/procs'.
import type { HeldBy } from '../../../shared/api'
import { scanProcesses } from '../procs'

export interface FileId {
  dev: number
  ino: number
  path: string
}

export async function holdersOf(files: FileId[], selfPid = process.pid): Promise<HeldBy[]> {
  if (files.length === 0) return []
  const byKey = new Map(files.map((f) => [`${f.dev}:${f.ino}`, f]))
  const procs = await scanProcesses({ selfPid, maps: true, keep: (dev, ino) => byKey.has(`${dev}:${ino}`) })
  const out: HeldBy[] = []
  for (const p of procs) {
    const found = new Set<FileId>()
    for (const x of [...(p.fds ?? []), ...(p.maps ?? [])]) {
      const f = byKey.get(`${x.dev}:${x.ino}`)
      if (f) found.add(f)
    }
    for (const f of found) out.push({ pid: p.pid, command: p.comm, path: f.path })
  }
  return out
}
