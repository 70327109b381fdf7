// The counters a recording puts beside its page deltas: sectors read from the model's disks
// (/sys/class/block/DISK/stat, the disk's line of /proc/diskstats) and major faults, of one process (/proc/PID/stat) or of the whole system
// (/proc/vmstat pgmajfault). Each read is one small procfs file; a malformed or missing one gives
// null (shown as unknown), never an exception.
import { readFileSync } from 'node:fs'
import { deviceKeyOf } from '../jobs/device'

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

/**
 * Sectors read from /sys/class/block/DISK/stat (the fields of /proc/diskstats without the first
 * three: the third is sectors read); null when malformed.
 */
export function parseBlockStat(text: string | null): number | null {
  const v = Number(text?.trim().split(/\s+/)[2])
  return text && Number.isFinite(v) ? v : null
}

/**
 * Bytes read so far from these disks; null when none is listed or one cannot be read. One small
 * sysfs file per disk, not the whole /proc/diskstats: this runs ten times a second.
 */
export function diskReadBytes(disks: string[]): number | null {
  if (disks.length === 0) return null
  let sectors = 0
  for (const d of disks) {
    const v = parseBlockStat(read(`/sys/class/block/${d}/stat`))
    if (v === null) return null
    sectors += v
  }
  return sectors * 512
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
  // One line of ~180, ten times a second: found directly rather than parsing them all.
  const m = /^pgmajfault (\d+)$/m.exec(text)
  return m ? Number(m[1]) : null
}

/** Whether the process has ended (gone, or a zombie waiting to be reaped). */
export function hasExited(stat: ProcStat | null): boolean {
  return stat === null || stat.state === 'Z' || stat.state === 'X'
}
