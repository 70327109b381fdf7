// A loader process's own counters from /proc: bytes it made the kernel read from storage
// (io read_bytes: the page-cache misses it caused, not what it read from the cache), its page
// faults (stat majflt/minflt) and its resident memory split by kind (status RssAnon/RssFile/
// RssShmem). Malformed or unreadable input gives null with the reason, never a throw.
import { readFile } from 'node:fs/promises'

export interface ProcCounters {
  readBytes: number | null
  majorFaults: number | null
  minorFaults: number | null
  rssAnonBytes: number | null
  rssFileBytes: number | null
  rssShmemBytes: number | null
  /** Why some value is null (e.g. another user's process: /proc/PID/io is not readable) */
  unknownReason?: string
}

export function parseIoReadBytes(text: string): number | null {
  const m = /^read_bytes:\s+(\d+)$/m.exec(text)
  return m ? Number(m[1]) : null
}

/** majflt and minflt from /proc/PID/stat (fields 10 and 12; the name in parentheses may hold spaces). */
export function parseStatFaults(text: string): { majorFaults: number; minorFaults: number } | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const f = text.slice(close + 2).trim().split(/\s+/) // f[0] is field 3 (state)
  const minflt = Number(f[7])
  const majflt = Number(f[9])
  return Number.isInteger(minflt) && Number.isInteger(majflt) ? { majorFaults: majflt, minorFaults: minflt } : null
}

export function parseStatusRss(text: string): Pick<ProcCounters, 'rssAnonBytes' | 'rssFileBytes' | 'rssShmemBytes'> {
  const kib = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text)
    return m ? Number(m[1]) * 1024 : null
  }
  return { rssAnonBytes: kib('RssAnon'), rssFileBytes: kib('RssFile'), rssShmemBytes: kib('RssShmem') }
}

const reasonOf = (err: unknown, what: string) => {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ESRCH') return 'the process has ended'
  if (code === 'EACCES' || code === 'EPERM') return `${what} of another user's process is not readable (run Hearth as that user or root)`
  return `${what}: ${(err as Error).message}`
}

/** Reads all three files; a missing piece is null with the reason. */
export async function readProcCounters(pid: number, procRoot = '/proc'): Promise<ProcCounters> {
  const dir = `${procRoot}/${pid}`
  const [io, stat, status] = await Promise.allSettled([readFile(`${dir}/io`, 'utf8'), readFile(`${dir}/stat`, 'utf8'), readFile(`${dir}/status`, 'utf8')])
  const reasons: string[] = []
  let readBytes: number | null = null
  if (io.status === 'fulfilled') {
    readBytes = parseIoReadBytes(io.value)
    if (readBytes === null) reasons.push('io has no read_bytes line')
  } else reasons.push(reasonOf(io.reason, 'io'))
  let faults: { majorFaults: number; minorFaults: number } | null = null
  if (stat.status === 'fulfilled') {
    faults = parseStatFaults(stat.value)
    if (!faults) reasons.push('stat is malformed')
  } else reasons.push(reasonOf(stat.reason, 'stat'))
  const rss = status.status === 'fulfilled' ? parseStatusRss(status.value) : { rssAnonBytes: null, rssFileBytes: null, rssShmemBytes: null }
  if (status.status === 'rejected') reasons.push(reasonOf(status.reason, 'status'))
  return {
    readBytes,
    majorFaults: faults?.majorFaults ?? null,
    minorFaults: faults?.minorFaults ?? null,
    ...rss,
    ...(reasons.length ? { unknownReason: [...new Set(reasons)].join('; ') } : {}),
  }
}

/**
 * Where the process maps `paths` from: the filesystem type of the first mapping of one of them
 * (by /proc/PID/maps device, looked up in /proc/PID/mountinfo). "tmpfs" means a RAM-disk copy.
 */
export async function mappedFrom(pid: number, paths: string[], procRoot = '/proc'): Promise<{ path: string; fsType: string } | null> {
  let maps: string
  let mountinfo: string
  try {
    ;[maps, mountinfo] = await Promise.all([readFile(`${procRoot}/${pid}/maps`, 'utf8'), readFile(`${procRoot}/${pid}/mountinfo`, 'utf8')])
  } catch {
    return null
  }
  return mappedFromText(maps, mountinfo, paths)
}

export function mappedFromText(maps: string, mountinfo: string, paths: string[]): { path: string; fsType: string } | null {
  const wanted = new Set(paths)
  for (const line of maps.split('\n')) {
    // address perms offset dev inode path
    const m = /^\S+\s+\S+\s+\S+\s+([0-9a-f]+):([0-9a-f]+)\s+\d+\s+(.+)$/.exec(line)
    if (!m || !wanted.has(m[3])) continue
    const dev = `${parseInt(m[1], 16)}:${parseInt(m[2], 16)}`
    for (const mi of mountinfo.split('\n')) {
      const f = mi.split(' ')
      const sep = f.indexOf('-')
      if (f[2] === dev && sep > 0) return { path: m[3], fsType: f[sep + 1] }
    }
    return { path: m[3], fsType: 'unknown' }
  }
  return null
}
