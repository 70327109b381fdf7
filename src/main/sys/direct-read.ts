// Reads a byte range of a file without leaving it in the page cache (O_DIRECT into page-aligned
// memory), so scanning a model's header never changes the residency Hearth shows: a read that
// went through the cache would pull in the first megabytes (plus readahead) of every evicted
// model, all of a small one. Where O_DIRECT is refused (tmpfs, some FUSE and network mounts) it
// falls back to an ordinary read.
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { allocAligned, pageBytes, preadInto } from './aligned-read'

export interface RangeRead {
  /** The bytes read (shorter than asked at the end of the file) */
  data: Uint8Array
  /** The file's size */
  totalBytes: number
  direct: boolean
}

async function readAll(fh: FileHandle, buf: Uint8Array, positionBytes: number): Promise<number> {
  let got = 0
  while (got < buf.length) {
    const n = await preadInto(fh.fd, buf.subarray(got), buf.length - got, positionBytes + got)
    if (n === 0) break
    got += n
    // O_DIRECT reads stop short only at the end of the file; keep whole pages for the next one.
    if (got % pageBytes !== 0) break
  }
  return got
}

export async function readRangeUncached(path: string, offsetBytes: number, lengthBytes: number): Promise<RangeRead> {
  let fh: FileHandle | undefined
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_DIRECT)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
  }
  if (fh) {
    try {
      const totalBytes = (await fh.stat()).size
      const end = Math.min(offsetBytes + lengthBytes, totalBytes)
      if (end <= offsetBytes) return { data: new Uint8Array(0), totalBytes, direct: true }
      const start = Math.floor(offsetBytes / pageBytes) * pageBytes
      const buf = allocAligned(Math.ceil(end / pageBytes) * pageBytes - start)
      const got = await readAll(fh, buf, start)
      return { data: buf.slice(offsetBytes - start, Math.min(got, end - start)), totalBytes, direct: true }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
    } finally {
      await fh.close().catch(() => undefined)
    }
  }
  const plain = await open(path, 'r')
  try {
    const totalBytes = (await plain.stat()).size
    const buf = new Uint8Array(Math.max(0, Math.min(lengthBytes, totalBytes - offsetBytes)))
    const { bytesRead } = await plain.read(buf, 0, buf.length, offsetBytes)
    return { data: buf.subarray(0, bytesRead), totalBytes, direct: false }
  } finally {
    await plain.close().catch(() => undefined)
  }
}
