// Which processes map a file, matched by device + inode (a path can point at another inode after
// a bind mount or a rename). Mapped pages cannot be dropped by DONTNEED, so evict names them.
// The scan itself is services/procs'.
import { scanProcesses } from '../procs'

export interface Holder {
  pid: number
  command: string
}

export async function processesMapping(dev: number, ino: number): Promise<Holder[]> {
  const procs = await scanProcesses({ maps: true, fds: false, keep: (d, i) => d === dev && i === ino })
  return procs.filter((p) => p.maps?.length).map((p) => ({ pid: p.pid, command: p.comm }))
}
