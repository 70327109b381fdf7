// Page-aligned read buffers. V8 places ArrayBuffer backing stores 16 bytes past a page boundary,
// and the kernel's copy into such memory runs about 4x slower than into aligned memory (FACTS.md),
// so we allocate one page more and view the buffer from its first aligned byte. The address is
// found by asking libc: memmove(p, p, 0) returns p.
import { read } from 'node:fs'
import { libc } from './libc'

export const pageBytes = 4096

let addressOf: ((dst: Uint8Array, src: Uint8Array, n: number) => number) | null = null

/** The address of a typed array's first byte, as native code sees it. */
export function addressOfView(view: Uint8Array): number {
  if (!addressOf) addressOf = libc().func('uintptr_t memmove(_Inout_ uint8_t *dst, const uint8_t *src, size_t n)')
  return Number(addressOf(view, view, 0))
}

/** A page-aligned Uint8Array of `bytes` (rounded up to whole pages). Keep it: the backing store never moves. */
export function allocAligned(bytes: number): Uint8Array {
  const size = Math.ceil(bytes / pageBytes) * pageBytes
  const backing = new ArrayBuffer(size + pageBytes)
  const probe = new Uint8Array(backing, 0, 1)
  const misalign = addressOfView(probe) % pageBytes
  const view = new Uint8Array(backing, misalign === 0 ? 0 : pageBytes - misalign, size)
  return view
}

/** pread into `buf` on the libuv pool; resolves the byte count (0 at end of file). */
export function preadInto(fd: number, buf: Uint8Array, lengthBytes: number, positionBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, lengthBytes, positionBytes, (err, n) => (err ? reject(err) : resolve(n)))
  })
}
