import { afterAll, describe, expect, it } from 'vitest'
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { cachestat } from './cachestat'
import { FADV, fadvise } from './fadvise'
import { readRangeUncached } from './direct-read'

// Under the repo, not /tmp: on a tmpfs every page is "resident" and O_DIRECT is refused.
const dir = mkdtempSync(join(new URL('../../..', import.meta.url).pathname, 'tmp-direct-read-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function coldFile(name: string, bytes: Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  const fd = openSync(path, 'r')
  fsyncSync(fd)
  fadvise(fd, 0, 0, FADV.DONTNEED)
  closeSync(fd)
  return path
}

function cachedPages(path: string): number {
  const fd = openSync(path, 'r')
  try {
    return cachestat(fd).cachePages
  } finally {
    closeSync(fd)
  }
}

describe('readRangeUncached', () => {
  it('returns the exact bytes of unaligned ranges and leaves a cold file cold', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 777)
    const path = coldFile('model.gguf', data)
    expect(cachedPages(path)).toBe(0)
    for (const [off, len] of [[0, 8], [5, 4096], [4095, 10_000], [1_000_001, 2_000_000], [data.length - 100, 4096]]) {
      const r = await readRangeUncached(path, off, len)
      expect(r.direct).toBe(true)
      expect(r.totalBytes).toBe(data.length)
      expect(Buffer.from(r.data).equals(data.subarray(off, Math.min(off + len, data.length)))).toBe(true)
    }
    expect(cachedPages(path)).toBe(0)
  })

  it('past the end of the file returns nothing', async () => {
    const path = coldFile('small.bin', randomBytes(100))
    const r = await readRangeUncached(path, 200, 10)
    expect(r.data.length).toBe(0)
    expect(r.totalBytes).toBe(100)
  })

  it('names a missing file', async () => {
    await expect(readRangeUncached(join(dir, 'nope'), 0, 8)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
