// Which processes map a file, matched by device + inode (a path can point at another inode after
// a bind mount or a rename). Mapped pages cannot be dropped by DONTNEED, so evict names them.
import { readdir, readFile } from 'node:fs/promises'
import { major, minor } from '../jobs/device'

export interface Holder {
  pid: number
  command: string
}

export async function processesMapping(dev: number, ino: number): Promise<Holder[]> {
  const devText = `${major(dev).toString(16).padStart(2, '0')}:${minor(dev).toString(16).padStart(2, '0')}`
  const inoText = String(ino)
  const out: Holder[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let maps: string
    try {
      maps = await readFile(`/proc/${name}/maps`, 'utf8')
    } catch {
      continue // exited, or not ours to read
    }
    const hit = maps.split('\n').some((line) => {
      const f = line.split(/\s+/, 6)
      return f[4] === inoText && f[3] === devText
    })
    if (!hit) continue
    const command = await readFile(`/proc/${name}/comm`, 'utf8').then((s) => s.trim(), () => '?')
    out.push({ pid: Number(name), command })
  }
  return out
}
