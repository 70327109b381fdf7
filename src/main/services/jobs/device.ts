// Which disk a file lives on. Jobs queue per disk (two readers on one HDD halve its speed), so a
// partition (sda2) maps to its whole disk (sda) through /sys/dev/block/MAJ:MIN.
import { existsSync, realpathSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'

export function major(dev: number): number {
  return Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn)
}
export function minor(dev: number): number {
  return Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn)
}

/** "disk:vda" for a block device (partitions → the whole disk), "dev:0:53" for tmpfs, NFS, FUSE … */
export function deviceKeyOfDev(dev: number): string {
  const maj = major(dev)
  const min = minor(dev)
  if (maj === 0) return `dev:${maj}:${min}`
  const sys = `/sys/dev/block/${maj}:${min}`
  try {
    const real = realpathSync(sys)
    const disk = existsSync(`${real}/partition`) ? dirname(real) : real
    return `disk:${basename(disk)}`
  } catch {
    return `dev:${maj}:${min}`
  }
}

export async function deviceKeyOf(path: string): Promise<string> {
  return deviceKeyOfDev((await stat(path)).dev)
}
