import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { MemorySample } from '../../../shared/api'
import { createHub } from '../../hub'
import {
  createTelemetryService,
  isWholeDisk,
  parseDiskstats,
  parseMeminfo,
  parsePressure,
  parseVmstat,
} from './index'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')
// Two real readings of a 2-core, 24 GiB VM (kernel 6.18), with ~300 MB read cold in between.
const recordedA = join(fixtures, 'vm-6.18-a')
const recordedB = join(fixtures, 'vm-6.18-b')
const fixture = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8')
const KiB = 1024

const temps: string[] = []
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })))
function procDirFrom(src: string): string {
  const d = mkdtempSync(join(tmpdir(), 'hearth-proc-'))
  temps.push(d)
  cpSync(src, d, { recursive: true })
  return d
}

describe('parsers on recorded /proc', () => {
  it('reads meminfo in bytes', () => {
    const m = parseMeminfo(fixture(recordedA, 'meminfo'))
    expect(m.get('MemTotal')).toBe(24683620 * KiB)
    expect(m.get('Active(file)')).toBe(2468788 * KiB)
    expect(m.get('HugePages_Total')).toBe(0) // a count, not kB
    expect(m.get('Hugepagesize')).toBe(2048 * KiB)
  })

  it('reads vmstat counters and PSI', () => {
    const v = parseVmstat(fixture(recordedA, 'vmstat'))
    expect(v.get('pgmajfault')).toBe(1444)
    expect(v.get('pgpgin')).toBe(50120817)
    expect(v.get('workingset_refault_file')).toBe(233663)
    expect(parsePressure(fixture(recordedA, 'pressure/memory'))).toEqual({ someAvg10: 0, fullAvg10: 0 })
    expect(parsePressure('some avg10=12.50 avg60=3.01 avg300=0.70 total=991\nfull avg10=1.25 avg60=0.00 avg300=0.00 total=3')).toEqual({
      someAvg10: 12.5,
      fullAvg10: 1.25,
    })
  })

  it('reads diskstats and keeps only whole disks', () => {
    const real = parseDiskstats(fixture(recordedA, 'diskstats'))
    expect(real.map((d) => d.name)).toEqual(['loop0', 'loop1', 'loop2', 'loop3', 'loop4', 'loop5', 'loop6', 'loop7', 'vda', 'zram0'])
    expect(real.find((d) => d.name === 'vda')).toEqual({ name: 'vda', sectorsRead: 100241634, sectorsWritten: 12066776 })
    expect(real.filter((d) => isWholeDisk(d.name)).map((d) => d.name)).toEqual(['vda'])
    // A laptop-and-server mix in the kernel's format: NVMe under LUKS, SATA, RAID, SD card.
    const mixed = parseDiskstats(readFileSync(join(fixtures, 'diskstats-nvme-luks-raid'), 'utf8'))
    expect(mixed.filter((d) => isWholeDisk(d.name)).map((d) => d.name)).toEqual(['nvme0n1', 'dm-0', 'sda', 'md0', 'mmcblk0'])
    // /sys/block's listing, when there is one, decides.
    expect(isWholeDisk('sda1', new Set(['sda']))).toBe(false)
    expect(isWholeDisk('weird7', new Set(['weird7']))).toBe(true)
    expect(isWholeDisk('loop0', new Set(['loop0']))).toBe(false)
  })
})

describe('the telemetry service', () => {
  it('turns two recorded readings into rates (pgpgin in KiB, diskstats in 512-byte sectors)', async () => {
    const proc = procDirFrom(recordedA)
    let t = 1_000_000
    const s = createTelemetryService({ hub: createHub(), procRoot: proc, clock: () => t })
    const first = await s.now()
    expect(first).toMatchObject({ majorFaultsPerSec: 0, pageInBytesPerSec: 0, refaultsPerSec: 0 })
    expect(first.memTotalBytes).toBe(24683620 * KiB)
    expect(first.disks).toEqual([{ name: 'vda', readBytesPerSec: 0, writeBytesPerSec: 0 }])
    cpSync(recordedB, proc, { recursive: true })
    t += 2000
    const second = await s.now()
    expect(second.majorFaultsPerSec).toBe((1447 - 1444) / 2)
    expect(second.pageInBytesPerSec).toBe(((50414009 - 50120817) * KiB) / 2)
    expect(second.refaultsPerSec).toBe((233712 - 233663) / 2)
    const vda = second.disks[0]
    expect(vda.readBytesPerSec).toBe(((100828018 - 100241634) * 512) / 2)
    expect(vda.writeBytesPerSec).toBe(((12658720 - 12066776) * 512) / 2)
    // The two views of the same 300 MB cold read agree within 5%.
    expect(Math.abs(second.pageInBytesPerSec / vda.readBytesPerSec - 1)).toBeLessThan(0.05)
  })

  it('reports PSI as null where the kernel has none', async () => {
    const proc = procDirFrom(recordedA)
    rmSync(join(proc, 'pressure'), { recursive: true })
    const s = createTelemetryService({ hub: createHub(), procRoot: proc })
    expect(await s.now()).toMatchObject({ psiSomeAvg10: null, psiFullAvg10: null })
  })

  it('keeps a bounded history in time order', async () => {
    const proc = procDirFrom(recordedA)
    let t = 0
    const hub = createHub()
    const s = createTelemetryService({ hub, procRoot: proc, historySize: 5, intervalMs: 10, clock: () => (t += 1000) })
    const pushed: MemorySample[] = []
    hub.subscribe('memory', (m) => pushed.push(m))
    s.start()
    await new Promise((r) => setTimeout(r, 200))
    s.stop()
    const h = s.history()
    expect(pushed.length).toBeGreaterThan(6) // more than the ring holds, so it wrapped
    expect(h).toHaveLength(5)
    expect(h.map((x) => x.atMs)).toEqual(pushed.slice(-5).map((x) => x.atMs))
    expect(s.history(h[2].atMs).map((x) => x.atMs)).toEqual([h[3].atMs, h[4].atMs])
  })

  it('samples the live /proc', async () => {
    const s = createTelemetryService({ hub: createHub(), intervalMs: 100 })
    const a = await s.now()
    await new Promise((r) => setTimeout(r, 150))
    const b = await s.now()
    const meminfo = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'))
    expect(b.memTotalBytes).toBe(meminfo.get('MemTotal'))
    expect(b.memAvailableBytes).toBeGreaterThan(0)
    expect(b.memAvailableBytes).toBeLessThanOrEqual(b.memTotalBytes)
    expect(b.cachedBytes).toBeGreaterThan(0)
    expect(b.atMs).toBeGreaterThan(a.atMs)
    for (const r of [b.majorFaultsPerSec, b.pageInBytesPerSec, b.refaultsPerSec]) expect(r).toBeGreaterThanOrEqual(0)
    if (existsSync('/proc/pressure/memory')) expect(b.psiSomeAvg10).not.toBeNull()
    // Every whole disk of /sys/block shows up; loop and zram devices do not.
    expect(b.disks.length).toBeGreaterThan(0)
    for (const d of b.disks) {
      expect(existsSync(join('/sys/block', d.name))).toBe(true)
      expect(d.name).not.toMatch(/^(loop|zram|ram)\d/)
    }
  })
})
