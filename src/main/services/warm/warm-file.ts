// Warms one file: reads only the ranges that are not resident, sequentially, in chunks sized to
// take ~100 ms each (so cancel acts within a second even on a slow share), with a stall timeout
// per chunk (a dropped network share fails the job instead of hanging it).
import { closeSync, fstatSync, openSync, statSync } from 'node:fs'
import { HearthError } from '../../../shared/api'
import { allocAligned, preadInto } from '../../sys/aligned-read'
import { fadvise, FADV } from '../../sys/fadvise'
import { mmapRead, munmap, populateReadAsync } from '../../sys/mlock'
import { missingRanges } from './missing-ranges'
import { sendfileAsync } from './sendfile'
import { describeFsError } from './errors'

/** sendfile: kernel-side, no copy (default). read: aligned buffers. populate: MADV_POPULATE_READ (low CPU). */
export type WarmEngine = 'sendfile' | 'read' | 'populate'

export interface WarmFileOptions {
  engine?: WarmEngine
  /** Readers working on one file at once (each on its own range) */
  readers?: number
  stallMs?: number
  signal: AbortSignal
  onBytes: (bytes: number) => void
  /**
   * The sendfile call (the default is the real one). Returning -1 is how a filesystem without
   * splice answers; tests pass such a function to run the read fallback on real files.
   */
  sendfile?: (outFd: number, inFd: number, positionBytes: number, lengthBytes: number) => Promise<number>
}

export interface WarmFileResult {
  path: string
  sizeBytes: number
  readBytes: number
  alreadyResidentBytes: number
  residencyKnown: boolean
}

const minChunkBytes = 1 << 20
// Capped so a call in flight (it cannot be interrupted) ends within ~a second even on a slow disk.
const maxChunkBytes = 16 << 20
const readBufferBytes = 8 << 20

let devNullFd = -1
function devNull(): number {
  if (devNullFd < 0) devNullFd = openSync('/dev/null', 'w')
  return devNullFd
}

function withStall<T>(p: Promise<T>, stallMs: number, signal: AbortSignal, what: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HearthError('IO', `${what()}: no data for ${Math.round(stallMs / 1000)} s; the disk or network share stopped answering`)),
      stallMs,
    )
    const onAbort = () => reject(new HearthError('CANCELLED', 'cancelled'))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    })
  })
}

export async function warmFile(path: string, opts: WarmFileOptions): Promise<WarmFileResult> {
  const stallMs = opts.stallMs ?? 30_000
  let engine: WarmEngine = opts.engine ?? 'sendfile'
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    throw describeFsError(err, path, 'open')
  }
  let map: { addr: number; len: number } | null = null
  try {
    const st = fstatSync(fd)
    const sizeBytes = st.size
    const missing = missingRanges(fd, sizeBytes)
    const result: WarmFileResult = {
      path,
      sizeBytes,
      readBytes: 0,
      alreadyResidentBytes: sizeBytes - missing.missingBytes,
      residencyKnown: missing.known,
    }
    if (missing.missingBytes === 0) return result
    // SEQUENTIAL doubles the readahead window for this file; purely advisory.
    try {
      fadvise(fd, 0, 0, FADV.SEQUENTIAL)
    } catch {
      /* advisory */
    }
    if (engine === 'populate') map = { addr: mmapRead(fd, sizeBytes), len: sizeBytes }

    // Ranges are cut into chunks lazily so a chunk size that follows the measured rate applies.
    const queue = missing.ranges.map((r) => ({ ...r }))
    let chunkBytes = 4 << 20
    const shrank = (at: number) => {
      const now = fstatSync(fd).size
      return new HearthError('IO', `${path} shrank from ${sizeBytes} to ${now} bytes during the warm (read stopped at byte ${at}); was it being rewritten?`)
    }
    const sendfile = opts.sendfile ?? sendfileAsync
    // Each reader gets its read buffer when it first needs one: at the start with the read engine,
    // or when sendfile fails part way and every reader falls back to reads.
    const readOne = async (reader: { buf: Uint8Array | null }): Promise<boolean> => {
      const buffer = () => (reader.buf ??= allocAligned(readBufferBytes))
      const r = queue[0]
      if (!r) return false
      const pos = r.offsetBytes
      const len = Math.min(r.lengthBytes, engine === 'read' ? readBufferBytes : chunkBytes)
      r.offsetBytes += len
      r.lengthBytes -= len
      if (r.lengthBytes === 0) queue.shift()
      const t0 = performance.now()
      let n: number
      const what = () => `reading ${path} at byte ${pos}`
      if (engine === 'sendfile') {
        n = await withStall(sendfile(devNull(), fd, pos, len), stallMs, opts.signal, what)
        if (n < 0) {
          // sendfile failed (no splice on this filesystem, or an I/O error): read() says which.
          engine = 'read'
          n = await withStall(preadInto(fd, buffer(), Math.min(len, readBufferBytes), pos), stallMs, opts.signal, what).catch(
            (err) => {
              throw describeFsError(err, path, `read at byte ${pos}`)
            },
          )
          // re-queue what this call did not cover
          if (n < len && n > 0) queue.unshift({ offsetBytes: pos + n, lengthBytes: len - n })
        }
      } else if (engine === 'read') {
        n = await withStall(preadInto(fd, buffer(), len, pos), stallMs, opts.signal, what).catch((err) => {
          throw describeFsError(err, path, `read at byte ${pos}`)
        })
        if (n > 0 && n < len) queue.unshift({ offsetBytes: pos + n, lengthBytes: len - n })
      } else {
        const start = Math.floor(pos / 4096) * 4096
        await withStall(populateReadAsync(map!.addr + start, pos + len - start), stallMs, opts.signal, what).catch((err) => {
          if (fstatSync(fd).size < sizeBytes) throw shrank(pos)
          throw new HearthError('IO', `${what()}: ${(err as Error).message}`)
        })
        n = len
      }
      if (n === 0) throw shrank(pos)
      if (n > 0 && n < len && engine === 'sendfile') queue.unshift({ offsetBytes: pos + n, lengthBytes: len - n })
      result.readBytes += n
      opts.onBytes(n)
      // Aim for ~50 ms per call: big enough to keep the disk busy, small enough to cancel fast.
      // The slower of the last call's rate and the whole file's so far: a disk that answers one
      // call from a burst (a throttle, a cache on a share) must not earn a chunk it cannot finish.
      const now = performance.now()
      const lastRate = n / Math.max(0.001, now - t0)
      const overallRate = result.readBytes / Math.max(0.001, now - startedMs)
      const rate = Math.min(lastRate, overallRate)
      chunkBytes = Math.max(minChunkBytes, Math.min(maxChunkBytes, Math.round((rate * 50) / minChunkBytes) * minChunkBytes))
      return true
    }
    const startedMs = performance.now()
    const readers = Math.max(1, Math.min(8, opts.readers ?? 1))
    await Promise.all(
      Array.from({ length: readers }, async () => {
        const reader = { buf: null as Uint8Array | null }
        while (!opts.signal.aborted && (await readOne(reader)));
      }),
    )
    if (opts.signal.aborted) throw new HearthError('CANCELLED', 'cancelled')
    // A file deleted or replaced while we read it: the pages we read belong to a dead inode.
    let now: ReturnType<typeof statSync> | undefined
    try {
      now = statSync(path)
    } catch {
      now = undefined
    }
    if (!now || now.ino !== st.ino || now.dev !== st.dev) {
      throw new HearthError('IO', `${path} vanished (deleted or replaced) during the warm; rescan the models and warm again`)
    }
    return result
  } finally {
    if (map) munmap(map.addr, map.len)
    closeSync(fd)
  }
}
