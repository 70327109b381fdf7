// The counters a recording puts beside its page deltas: sectors read from the model's disks
// (/proc/diskstats) and major faults, of one process (/proc/PID/stat) or of the whole system
// (/proc/vmstat pgmajfault). Each read is one small procfs file; a malformed or missing one gives
// null (shown as unknown), never an exception.
import { readFileSync } from 'node:fs'
import { deviceKeyOf } from '../jobs/device'
import { parseDiskstats, parseVmstat } from '../telemetry/proc-parsers'

/** The whole disks (names as in /proc/diskstats) the files live on; files on tmpfs, NFS, FUSE add none. */
export async function disksOf(paths: string[]): Promise<string[]> {
  const keys = await Promise.all(paths.map((p) => deviceKeyOf(p).catch(() => '')))
  return [...new Set(keys.filter((k) => k.startsWith('disk:')).map((k) => k.slice(5)))]
}

const read = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** Bytes read so far from these disks; null when none is listed. */
export function diskReadBytes(disks: string[], text = read('/proc/diskstats')): number | null {
  if (disks.length === 0 || text === null) return null
  const rows = parseDiskstats(text).filter((d) => disks.includes(d.name) && Number.isFinite(d.sectorsRead))
  if (rows.length === 0) return null
  return rows.reduce((a, d) => a + d.sectorsRead, 0) * 512
}

export interface ProcStat {
  /** State letter (R, S, D, Z …) */
  state: string
  majflt: number
}

/**
 * /proc/PID/stat's state and majflt (field 12). The command name (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ')'. null when the file is missing or malformed.
 */
export function parseProcStat(text: string | null): ProcStat | null {
  if (!text) return null
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const f = text.slice(close + 2).trim().split(/\s+/)
  // f[0] is field 3 (state); majflt, field 12, is f[9].
  const majflt = Number(f[9])
  if (!f[0] || !Number.isFinite(majflt)) return null
  return { state: f[0], majflt }
}

export function procStat(pid: number): ProcStat | null {
  return parseProcStat(read(`/proc/${pid}/stat`))
}

/** Major faults of the whole system so far; null when /proc/vmstat lacks the counter. */
export function systemMajorFaults(text = read('/proc/vmstat')): number | null {
  if (text === null) return null
  const v = parseVmstat(text).get('pgmajfault')
  return v !== undefined && Number.isFinite(v) ? v : null
}

/** Whether the process has ended (gone, or a zombie waiting to be reaped). */
export function hasExited(stat: ProcStat | null): boolean {
  return stat === null || stat.state === 'Z' || stat.state === 'X'
}
