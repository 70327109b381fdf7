// A stand-in model loader for the Doctor's tests: holds a model file the way a real loader does,
// then prints one JSON line and waits until stdin closes.
//   direct       open with O_DIRECT and read 1 MiB, keep the fd (llama.cpp --load-mode dio, vLLM GDS)
//   mmap         map the whole file and close the fd (llama.cpp's default)
//   read         read() the whole file into anonymous memory, keep the fd (mmap off, mid-load)
//   read-closed  read() it all, close the fd: only the command line still names the file
// TITLE (optional) renames the process, as `llama-server` would be named.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { allocAligned } from '../../src/main/sys/aligned-read'
import { mmapRead } from '../../src/main/sys/mlock'

const [mode, path, title] = process.argv.slice(2)
if (title) process.title = title
// Held on globalThis: a module binding nothing reads again may be collected, buffer and all.
const keep: unknown[] = []
;(globalThis as { hearthKeep?: unknown[] }).hearthKeep = keep
if (mode === 'direct') {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT)
  const buf = allocAligned(1 << 20)
  readSync(fd, buf, 0, buf.length, 0)
  keep.push(fd, buf)
} else if (mode === 'mmap') {
  const fd = openSync(path, 'r')
  keep.push(mmapRead(fd, fstatSync(fd).size))
  closeSync(fd)
} else if (mode === 'read' || mode === 'read-closed') {
  const fd = openSync(path, 'r')
  const size = fstatSync(fd).size
  const buf = Buffer.allocUnsafe(size)
  for (let off = 0; off < size; ) off += readSync(fd, buf, off, Math.min(16 << 20, size - off), off)
  // Touch every page so RssAnon counts all of it (allocUnsafe memory is only reserved).
  buf.fill(1)
  keep.push(buf)
  if (mode === 'read-closed') closeSync(fd)
  else keep.push(fd)
} else {
  console.error(`model-reader: unknown mode ${mode}`)
  process.exit(2)
}
console.log(JSON.stringify({ pid: process.pid, mode, ready: true }))
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
