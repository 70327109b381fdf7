import { closeSync, openSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cachestat, CachestatError, cachestatSyscallNumber, pageSizeBytes } from './cachestat'
import { besideFincore, evict, readRange, writeColdFile } from '../../../test/support/files'

const MiB = 1 << 20
let dir = ''
let file = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-cachestat-'))
  file = join(dir, 'weights.bin')
  writeColdFile(file, 64 * MiB)
})
afterAll(async () => {
  evict(file)
  await rm(dir, { recursive: true, force: true })
})

describe('cachestat', () => {
  it('knows the syscall number only where the table was checked', () => {
    expect(cachestatSyscallNumber('x64')).toBe(451)
    expect(cachestatSyscallNumber('arm64')).toBe(451)
    expect(cachestatSyscallNumber('ia32')).toBeNull()
    expect(cachestatSyscallNumber('riscv64')).toBeNull()
  })

  it('counts the pages that partial reads brought in, as fincore does', async () => {
    const fd = openSync(file, 'r')
    try {
      evict(file)
      expect(cachestat(fd).cachePages).toBe(0)
      const prepare = () => {
        evict(file)
        readRange(file, 0, 8 * MiB)
        readRange(file, 40 * MiB, 4 * MiB)
      }
      const { ours: whole, fincore } = await besideFincore(file, () => cachestat(fd).cachePages, prepare)
      // Readahead may bring a little more than was read; fincore is the referee.
      expect(whole).toBeGreaterThanOrEqual((12 * MiB) / pageSizeBytes())
      expect(whole * pageSizeBytes()).toBe(fincore)
      // A range inside what was read is fully cached; one far from it is not.
      expect(cachestat(fd, 1 * MiB, 4 * MiB).cachePages).toBe((4 * MiB) / pageSizeBytes())
      expect(cachestat(fd, 56 * MiB, 4 * MiB).cachePages).toBe(0)
    } finally {
      closeSync(fd)
    }
  })

  it('fails with a typed error on a bad fd', () => {
    try {
      cachestat(987654)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(CachestatError)
      expect((err as CachestatError).failure).toBe('error')
      expect((err as CachestatError).message).toMatch(/EBADF/)
    }
  })
})
