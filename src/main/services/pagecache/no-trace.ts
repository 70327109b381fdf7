// Reading a model's header must not change the residency Hearth is there to show: the parser's
// reads and the kernel's readahead would otherwise pull the first megabytes of every evicted
// model into the page cache at each scan (all of a small model). Chunks that held no page before
// the read are dropped again after it; chunks that were partly resident are left alone.
import { open } from 'node:fs/promises'
import { cachestat } from '../../sys/cachestat'
import { FADV, fadvise } from '../../sys/fadvise'

const chunkBytes = 256 * 1024
/** Headers (and the readahead past them) live in the first few MB; 64 MiB covers a 262k vocab. */
const windowBytes = 64 * 1024 * 1024

export async function withoutCacheTrace<T>(path: string, read: () => Promise<T>): Promise<T> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch {
    return read() // the parser reports why it cannot open the file
  }
  try {
    const size = (await fh.stat()).size
    const end = Math.min(size, windowBytes)
    const cold: number[] = []
    try {
      for (let off = 0; off < end; off += chunkBytes) {
        if (cachestat(fh.fd, off, Math.min(chunkBytes, end - off)).cachePages === 0) cold.push(off)
      }
    } catch {
      return await read() // no cachestat (old kernel, or a file this user may not query): read as is
    }
    const result = await read()
    for (const off of cold) {
      try {
        fadvise(fh.fd, off, Math.min(chunkBytes, end - off), FADV.DONTNEED)
      } catch {
        break
      }
    }
    return result
  } finally {
    await fh.close().catch(() => undefined)
  }
}
