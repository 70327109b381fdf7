// The 2-second read test: how fast a device reads, measured on a model file that lives there.
// Reads with O_DIRECT (the page cache neither serves nor keeps the bytes); where the filesystem
// refuses O_DIRECT it reads ranges that are not cached, and drops exactly those again afterwards,
// so residency ends as it began. It never writes.
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { HearthError } from '../../../shared/api'
import { allocAligned, preadInto } from '../../sys/aligned-read'
import { fadvise, FADV } from '../../sys/fadvise'
import { missingRanges } from '../warm/missing-ranges'

export interface ReadTestResult {
  bytes: number
  ms: number
  direct: boolean
}

const chunkBytes = 8 << 20

async function openDirect(path: string): Promise<{ fh: FileHandle; direct: boolean }> {
  try {
    return { fh: await open(path, constants.O_RDONLY | constants.O_DIRECT), direct: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
    return { fh: await open(path, 'r'), direct: false }
  }
}

/** Reads for about `seconds` (or until `capBytes`), reporting bytes as they come. */
export async function readTest(path: string, opts: { seconds?: number; capBytes?: number; signal: AbortSignal; onBytes(n: number): void }): Promise<ReadTestResult> {
  const seconds = opts.seconds ?? 2
  const { fh, direct } = await openDirect(path)
  const buf = allocAligned(chunkBytes)
  try {
    const size = (await fh.stat()).size
    const cap = Math.min(size, opts.capBytes ?? size)
    // O_DIRECT: any range reaches the device. Buffered: only ranges not in the cache do.
    let ranges: { offsetBytes: number; lengthBytes: number }[]
    if (direct) {
      const start = Math.floor(size / 2 / (1 << 20)) * (1 << 20)
      ranges = [{ offsetBytes: start, lengthBytes: size - start }, { offsetBytes: 0, lengthBytes: start }]
    } else {
      const missing = missingRanges(fh.fd, size)
      if (!missing.known) throw new HearthError('UNSUPPORTED', `${path}: its filesystem refuses O_DIRECT and the kernel will not say which parts are cached (${missing.unknownReason ?? 'not the owner'}), so a read test could disturb what is warm`)
      ranges = missing.ranges
      if (ranges.length === 0) {
        throw new HearthError('UNSUPPORTED', `${path} is wholly in the page cache and its filesystem refuses O_DIRECT: a read test would measure memory, not the device. Evict the model first, then test again`)
      }
    }
    const readRanges: { offsetBytes: number; lengthBytes: number }[] = []
    const t0 = performance.now()
    let done = 0
    outer: for (const r of ranges) {
      let off = r.offsetBytes
      const end = r.offsetBytes + r.lengthBytes
      while (off < end) {
        if (opts.signal.aborted) throw new HearthError('CANCELLED', 'cancelled')
        if (done >= cap || performance.now() - t0 >= seconds * 1000) break outer
        const len = Math.min(chunkBytes, end - off)
        const want = direct ? Math.ceil(len / 4096) * 4096 : len
        const n = await preadInto(fh.fd, buf, want, off)
        if (n <= 0) break
        readRanges.push({ offsetBytes: off, lengthBytes: n })
        off += n
        done += n
        opts.onBytes(n)
      }
    }
    const ms = performance.now() - t0
    // Buffered reads cached what was not cached before: drop exactly that again.
    if (!direct) for (const r of readRanges) fadvise(fh.fd, r.offsetBytes, r.lengthBytes, FADV.DONTNEED)
    return { bytes: done, ms, direct }
  } finally {
    await fh.close().catch(() => undefined)
  }
}
