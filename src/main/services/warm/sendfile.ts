// sendfile(2) from a model file into /dev/null: the kernel fills the page cache through its
// normal readahead and discards the data without copying it to user space. Measured here it
// reads faster than cat and with a tenth of the CPU (bench/warm.ts), so it is the default warm
// engine; aligned read() into one buffer is the fallback for filesystems without splice.
import { libc } from '../../sys/libc'

type SendfileFn = ((out: number, inFd: number, off: BigInt64Array, n: number) => number) & {
  async: (out: number, inFd: number, off: BigInt64Array, n: number, cb: (err: unknown, n: number) => void) => void
}
let fn: SendfileFn | null = null

/** Copies up to lengthBytes from inFd at positionBytes to outFd on a worker thread; resolves the count (0 at EOF, -1 on error). */
export function sendfileAsync(outFd: number, inFd: number, positionBytes: number, lengthBytes: number): Promise<number> {
  if (!fn) fn = libc().func('intptr_t sendfile(int out, int in, int64_t *off, size_t n)') as SendfileFn
  const off = new BigInt64Array([BigInt(positionBytes)])
  return new Promise((resolve, reject) => {
    fn!.async(outFd, inFd, off, lengthBytes, (err, n) => (err ? reject(err) : resolve(Number(n))))
  })
}
