// Which processes hold a file: an open fd or a mapping, matched by device + inode (a process
// that opened the file before a bind mount holds the original inode and shows the same path,
// so paths cannot tell them apart). Sees only the processes this user may inspect; the helper
// repeats the check as root before it unmounts anything.
import { readdir, readFile, stat } from 'node:fs/promises'
import type { HeldBy } from '../../../shared/api'

export interface FileId {
  dev: number
  ino: number
  path: string
}

const majorOf = (dev: number) => Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn)
const minorOf = (dev: number) => Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn)

export async function holdersOf(files: FileId[], selfPid = process.pid): Promise<HeldBy[]> {
  if (files.length === 0) return []
  const byKey = new Map(files.map((f) => [`${f.dev}:${f.ino}`, f]))
  const byMaps = new Map(files.map((f) => [`${majorOf(f.dev).toString(16).padStart(2, '0')}:${minorOf(f.dev).toString(16).padStart(2, '0')} ${f.ino}`, f]))
  const out: HeldBy[] = []
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n) && Number(n) !== selfPid)
  await Promise.all(
    pids.map(async (pid) => {
      const found = new Set<FileId>()
      try {
        for (const fd of await readdir(`/proc/${pid}/fd`)) {
          const st = await stat(`/proc/${pid}/fd/${fd}`).catch(() => null)
          const f = st && byKey.get(`${st.dev}:${st.ino}`)
          if (f) found.add(f)
        }
      } catch {
        /* another user's process, or gone */
      }
      try {
        for (const line of (await readFile(`/proc/${pid}/maps`, 'utf8')).split('\n')) {
          const m = /^\S+ \S+ \S+ ([0-9a-f]+:[0-9a-f]+) (\d+)/.exec(line)
          const f = m && m[2] !== '0' ? byMaps.get(`${m[1]} ${m[2]}`) : undefined
          if (f) found.add(f)
        }
      } catch {
        /* not ours to read */
      }
      if (found.size === 0) return
      const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim()
      for (const f of found) out.push({ pid: Number(pid), command, path: f.path })
    }),
  )
  return out.sort((a, b) => a.pid - b.pid)
}
