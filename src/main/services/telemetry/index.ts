// The memory telemetry service: a 1 Hz sample of /proc/meminfo, /proc/vmstat rates,
// /proc/pressure/memory and per-disk I/O rates, published as 'memory' and kept for an hour.
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { DiskRate, MemorySample } from '../../../shared/api'
import type { TelemetryService } from '../../context'
import type { Hub } from '../../hub'
import { isWholeDisk, parseDiskstats, parseMeminfo, parsePressure, parseVmstat, type DiskCounters } from './proc-parsers'

export * from './proc-parsers'

export interface TelemetryOptions {
  hub: Hub
  /** Where /proc is (tests point it at recorded files); default /proc */
  procRoot?: string
  /** /sys/block, to tell whole disks from partitions; default /sys/block with the real /proc */
  sysBlockDir?: string | null
  intervalMs?: number
  /** Samples kept; 3600 = one hour at 1 Hz */
  historySize?: number
  clock?: () => number
}

const SECTOR_BYTES = 512 // diskstats counts 512-byte sectors whatever the device's block size

interface Counters {
  atMs: number
  majorFaults: number
  pageInKiB: number
  refaults: number
  disks: Map<string, DiskCounters>
}

export function createTelemetryService(opts: TelemetryOptions): TelemetryService {
  const { hub } = opts
  const procRoot = opts.procRoot ?? '/proc'
  const sysBlockDir = opts.sysBlockDir !== undefined ? opts.sysBlockDir : procRoot === '/proc' ? '/sys/block' : null
  const intervalMs = opts.intervalMs ?? 1000
  const historySize = opts.historySize ?? 3600
  const clock = opts.clock ?? Date.now

  const ring: MemorySample[] = []
  let ringStart = 0 // index of the oldest sample once the ring is full
  let previous: Counters | null = null
  let latest: MemorySample | null = null
  let timer: NodeJS.Timeout | null = null
  let sysBlock: Set<string> | undefined

  const readProc = (name: string) => readFile(join(procRoot, name), 'utf8')
  async function readOptional(name: string): Promise<string | null> {
    try {
      return await readProc(name)
    } catch {
      return null // PSI absent (CONFIG_PSI off) or disabled (psi=0: EOPNOTSUPP)
    }
  }

  async function sample(): Promise<MemorySample> {
    if (sysBlockDir && !sysBlock) {
      sysBlock = await readdir(sysBlockDir).then((n) => new Set(n), () => undefined)
    }
    const [meminfoText, vmstatText, pressureText, diskText] = await Promise.all([
      readProc('meminfo'),
      readProc('vmstat'),
      readOptional('pressure/memory'),
      readOptional('diskstats'),
    ])
    const atMs = clock()
    const mem = parseMeminfo(meminfoText)
    const vm = parseVmstat(vmstatText)
    const psi = pressureText === null ? { someAvg10: null, fullAvg10: null } : parsePressure(pressureText)
    const disks = new Map<string, DiskCounters>()
    for (const d of diskText === null ? [] : parseDiskstats(diskText)) {
      if (isWholeDisk(d.name, sysBlock)) disks.set(d.name, d)
    }
    const now: Counters = {
      atMs,
      majorFaults: vm.get('pgmajfault') ?? 0,
      pageInKiB: vm.get('pgpgin') ?? 0, // vmstat counts pgpgin in KiB, not pages
      // Kernels before 5.9 had one workingset_refault for anon and file together.
      refaults: vm.get('workingset_refault_file') ?? vm.get('workingset_refault') ?? 0,
      disks,
    }
    const prev = previous
    const seconds = prev ? (atMs - prev.atMs) / 1000 : 0
    // Counters never go backwards, except across a device hot-plug: clamp at 0 rather than lie.
    const rate = (a: number, b: number | undefined) => (seconds > 0 && b !== undefined ? Math.max(0, (a - b) / seconds) : 0)
    const diskRates: DiskRate[] = [...disks.values()].map((d) => {
      const p = prev?.disks.get(d.name)
      return {
        name: d.name,
        readBytesPerSec: rate(d.sectorsRead, p?.sectorsRead) * SECTOR_BYTES,
        writeBytesPerSec: rate(d.sectorsWritten, p?.sectorsWritten) * SECTOR_BYTES,
      }
    })
    previous = now
    const bytes = (key: string) => mem.get(key) ?? 0
    return (latest = {
      atMs,
      memTotalBytes: bytes('MemTotal'),
      memAvailableBytes: bytes('MemAvailable'),
      memFreeBytes: bytes('MemFree'),
      cachedBytes: bytes('Cached'),
      buffersBytes: bytes('Buffers'),
      shmemBytes: bytes('Shmem'),
      mlockedBytes: bytes('Mlocked'),
      unevictableBytes: bytes('Unevictable'),
      dirtyBytes: bytes('Dirty'),
      activeFileBytes: bytes('Active(file)'),
      inactiveFileBytes: bytes('Inactive(file)'),
      anonBytes: bytes('AnonPages'),
      swapTotalBytes: bytes('SwapTotal'),
      swapFreeBytes: bytes('SwapFree'),
      majorFaultsPerSec: rate(now.majorFaults, prev?.majorFaults),
      pageInBytesPerSec: rate(now.pageInKiB, prev?.pageInKiB) * 1024,
      refaultsPerSec: rate(now.refaults, prev?.refaults),
      psiSomeAvg10: psi.someAvg10,
      psiFullAvg10: psi.fullAvg10,
      disks: diskRates,
    })
  }

  function remember(s: MemorySample): void {
    if (ring.length < historySize) ring.push(s)
    else {
      ring[ringStart] = s
      ringStart = (ringStart + 1) % historySize
    }
  }

  async function tick(): Promise<void> {
    try {
      const s = await sample()
      remember(s)
      hub.publish('memory', s)
    } catch (err) {
      console.error('hearth: memory sample failed:', err)
    }
  }

  return {
    async now() {
      // While the sampler runs, its last sample is fresh; a second read a few ms later would
      // turn the rates into noise over a tiny interval.
      if (latest && clock() - latest.atMs < intervalMs) return latest
      return sample()
    },
    history(sinceMs?: number) {
      const ordered = ring.length < historySize ? ring.slice() : [...ring.slice(ringStart), ...ring.slice(0, ringStart)]
      return sinceMs === undefined ? ordered : ordered.filter((s) => s.atMs > sinceMs)
    },
    start() {
      if (timer) return
      void tick() // the first sample now, so a window opened right away has a reading
      timer = setInterval(() => void tick(), intervalMs)
      timer.unref()
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}
