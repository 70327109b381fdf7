import { closeSync, openSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cachestat, pageSizeBytes } from './cachestat'
import { mincorePages, mincoreWalk } from './mincore'
import { besideFincore, evict, readRange, writeColdFile } from '../../../test/support/files'

const MiB = 1 << 20
let dir = ''
let file = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-mincore-'))
  file = join(dir, 'weights.bin')
  writeColdFile(file, 64 * MiB + 1000) // a partial last page
})
afterAll(async () => {
  evict(file)
  await rm(dir, { recursive: true, force: true })
})

describe('mincore', () => {
  it('walks a cold file without faulting any page in', () => {
    evict(file)
    const fd = openSync(file, 'r')
    try {
      expect(mincorePages(fd, statSync(file).size)).toBe(0)
      expect(cachestat(fd).cachePages).toBe(0)
    } finally {
      closeSync(fd)
    }
  })

  it('agrees with fincore after partial reads, across window boundaries', async () => {
    const prepare = () => {
      evict(file)
      readRange(file, 3 * MiB, 5 * MiB)
      readRange(file, 60 * MiB, 4 * MiB + 1000)
    }
    const fd = openSync(file, 'r')
    try {
      const size = statSync(file).size
      const { ours: pages, fincore } = await besideFincore(file, () => mincorePages(fd, size), prepare)
      expect(pages * pageSizeBytes()).toBe(fincore)
      // Small windows (1 MiB) must count the same as one big one.
      expect(mincorePages(fd, size, 1 * MiB)).toBe(pages)
      // The vector arrives in file order: the page at 4 MiB is cached, the one at 20 MiB is not.
      const resident = new Set<number>()
      mincoreWalk(fd, size, (vec, first) => vec.forEach((v, i) => v & 1 && resident.add(first + i)), 8 * MiB)
      expect(resident.has((4 * MiB) / pageSizeBytes())).toBe(true)
      expect(resident.has((20 * MiB) / pageSizeBytes())).toBe(false)
      expect(resident.has(Math.floor(size / pageSizeBytes()))).toBe(true) // the partial last page
    } finally {
      closeSync(fd)
    }
  })
})
