// Where a model file physically lives: its mount, and for block devices the chain through
// device-mapper, md RAID and partitions down to the disks (/sys/dev/block/MAJ:MIN, slaves/,
// partition), whether those spin, and a stable key for the bandwidth Hearth measured there.
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { StorageDevice, StorageKind } from '../../../shared/api'
import { major, minor } from '../jobs/device'
import { isFuseFs, isNetworkFs, mountOf, type MountEntry } from './mountinfo'

export type DevicePlace = Omit<StorageDevice, 'bytesPerSec' | 'samples'> & { unknown?: string }

export interface BlockChain {
  /** The whole device the filesystem sits on (partition → its disk): dm-0, md0, sda */
  top: string
  /** Every node from the filesystem's device down to the disks */
  chain: string[]
  /** The leaves: real disks */
  disks: string[]
  rotational: boolean | null
  model: string | null
}

const exists = (p: string) => stat(p).then(() => true, () => false)
const readTrim = (p: string) => readFile(p, 'utf8').then((s) => s.trim(), () => null)

async function wholeDevice(sysPath: string): Promise<string> {
  return (await exists(`${sysPath}/partition`)) ? dirname(sysPath) : sysPath
}

/** Follows /sys/dev/block/MAJ:MIN through partitions and slaves/ to the disks. */
export async function blockChain(majMin: string, sysRoot = '/sys'): Promise<BlockChain> {
  const start = await realpath(`${sysRoot}/dev/block/${majMin}`)
  const top = await wholeDevice(start)
  const chain = start === top ? [basename(top)] : [basename(start), basename(top)]
  const disks: string[] = []
  const seen = new Set<string>()
  const walk = async (node: string, depth: number): Promise<void> => {
    if (seen.has(node) || depth > 8) return
    seen.add(node)
    const slaves = await readdir(`${node}/slaves`).catch(() => [] as string[])
    if (slaves.length === 0) {
      disks.push(basename(node))
      return
    }
    for (const s of slaves.sort()) {
      const real = await realpath(`${sysRoot}/class/block/${s}`).catch(() => null)
      if (!real) continue
      const whole = await wholeDevice(real)
      for (const n of real === whole ? [basename(real)] : [basename(real), basename(whole)]) if (!chain.includes(n)) chain.push(n)
      await walk(whole, depth + 1)
    }
  }
  await walk(top, 0)
  const rot = await Promise.all(disks.map((d) => readTrim(`${sysRoot}/block/${d}/queue/rotational`)))
  const rotational = rot.some((r) => r === '1') ? true : rot.length > 0 && rot.every((r) => r === '0') ? false : null
  const model = disks.length === 1 ? await readTrim(`${sysRoot}/block/${disks[0]}/device/model`) : null
  return { top: basename(top), chain, disks, rotational, model: model || null }
}

function kindOf(fstype: string): StorageKind {
  if (isNetworkFs(fstype)) return 'network'
  if (isFuseFs(fstype) && fstype !== 'fuseblk') return 'fuse'
  if (fstype === 'tmpfs' || fstype === 'ramfs') return 'ram'
  return 'disk'
}

/** The place behind one mount (and the device number a file on it reported). */
export async function placeOf(mount: MountEntry | undefined, dev: number, sysRoot = '/sys'): Promise<DevicePlace> {
  if (!mount) {
    return { key: `dev:${dev}`, name: `device ${dev}`, kind: 'other', fstype: '?', mountPoint: '?', rotational: null, chain: [], unknown: `no mount with device ${dev} in mountinfo` }
  }
  const kind = kindOf(mount.fstype)
  const base = { fstype: mount.fstype, mountPoint: mount.mountPoint, rotational: null, chain: [] as string[] }
  if (kind === 'network') return { ...base, key: `mount:${mount.fstype}:${mount.source}`, name: `${mount.source} (${mount.fstype} share)`, kind }
  if (kind === 'fuse') return { ...base, key: `mount:${mount.fstype}:${mount.source}`, name: `${mount.source} (${mount.fstype})`, kind }
  if (kind === 'ram') return { ...base, key: `ram:${mount.fstype}`, name: `RAM (${mount.fstype})`, kind }
  // Block-backed: the mount's own MAJ:MIN, or (btrfs, zfs: anonymous 0:N devices) the source's.
  let majMin = mount.majMin
  if (majMin.startsWith('0:') && mount.source.startsWith('/dev/')) {
    const st = await stat(mount.source).catch(() => null)
    if (st?.isBlockDevice()) majMin = `${major(st.rdev)}:${minor(st.rdev)}`
  }
  if (majMin.startsWith('0:')) {
    return { ...base, key: `mount:${mount.fstype}:${mount.source}`, name: `${mount.source} (${mount.fstype})`, kind: 'other' }
  }
  try {
    const b = await blockChain(majMin, sysRoot)
    return {
      ...base,
      key: `disk:${b.top}`,
      name: `${b.top}${b.model ? ` (${b.model})` : ''}`,
      kind: 'disk',
      rotational: b.rotational,
      chain: b.chain,
      ...(b.rotational === null ? { unknown: `${sysRoot}/block/${b.disks.join(',') || b.top}/queue/rotational is missing` } : {}),
    }
  } catch (err) {
    return { ...base, key: `dev:${majMin}`, name: `${mount.source} (${mount.fstype})`, kind: 'disk', unknown: `${sysRoot}/dev/block/${majMin}: ${(err as Error).message}` }
  }
}

/** Places of many files at once, sharing the work per device. */
export function createPlaceFinder(mounts: readonly MountEntry[], sysRoot = '/sys') {
  const byDev = new Map<string, Promise<DevicePlace>>()
  return async (path: string): Promise<DevicePlace | { unknown: string }> => {
    let real: string
    let dev: number
    try {
      real = await realpath(path)
      dev = (await stat(real)).dev
    } catch (err) {
      return { unknown: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }
    }
    const mount = mountOf(mounts, dev, real)
    const key = `${dev}:${mount?.id ?? '-'}`
    let p = byDev.get(key)
    if (!p) byDev.set(key, (p = placeOf(mount, dev, sysRoot)))
    return p
  }
}
