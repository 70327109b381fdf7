// Pure parsers for the /proc files telemetry reads. Each takes the file's text, so they are tested
// on recorded output as well as the live files.

/** /proc/meminfo as bytes per key ("kB" there means KiB); keys without a unit stay counts. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line)
    if (m) out.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1))
  }
  return out
}

/** /proc/vmstat counters by name. */
export function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ')
    if (sp > 0) out.set(line.slice(0, sp), Number(line.slice(sp + 1)))
  }
  return out
}

export interface Pressure {
  someAvg10: number | null
  fullAvg10: number | null
}

/** /proc/pressure/memory's avg10 percentages ("some" and "full"). */
export function parsePressure(text: string): Pressure {
  const avg10 = (kind: string) => {
    const m = new RegExp(`^${kind}\\s.*\\bavg10=([\\d.]+)`, 'm').exec(text)
    return m ? Number(m[1]) : null
  }
  return { someAvg10: avg10('some'), fullAvg10: avg10('full') }
}

export interface DiskCounters {
  name: string
  sectorsRead: number
  sectorsWritten: number
}

/** /proc/diskstats: fields 3 (name), 6 (sectors read) and 10 (sectors written); 512-byte sectors. */
export function parseDiskstats(text: string): DiskCounters[] {
  const out: DiskCounters[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10) continue
    out.push({ name: f[2], sectorsRead: Number(f[5]), sectorsWritten: Number(f[9]) })
  }
  return out
}

/** Virtual devices whose I/O is RAM or another disk's: counting them would count bytes twice. */
const notADisk = /^(loop|ram|zram)\d+$/

/**
 * Whether a diskstats row is a whole disk (sda, nvme0n1, vda, dm-0, md0) rather than a partition
 * (sda1, nvme0n1p2, mmcblk0p1, md0p1) or a RAM/loop device. With /sys/block's listing (which
 * holds whole disks only) the answer is exact; without it, names decide.
 */
export function isWholeDisk(name: string, sysBlock?: ReadonlySet<string>): boolean {
  if (notADisk.test(name)) return false
  if (sysBlock) return sysBlock.has(name)
  if (/^(sd|vd|xvd|hd)[a-z]+\d+$/.test(name)) return false
  if (/^(nvme\d+n\d+|mmcblk\d+|md\d+|nbd\d+)p\d+$/.test(name)) return false
  return true
}
