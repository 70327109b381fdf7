// mincore(2) over a PROT_READ mapping: the residency fallback for kernels without cachestat.
// The mapping is never touched, so no page is faulted in by asking.
import { statSync, accessSync, constants as fsConstants } from 'node:fs'
import { errno, errnoName, libc } from './libc'
import { pageSizeBytes } from './cachestat'

const PROT_READ = 1
const MAP_SHARED = 1

interface MincoreFns {
  // Addresses travel as integers (intptr_t) so koffi never wraps foreign memory in an external.
  mmap(addr: number, len: number, prot: number, flags: number, fd: number, off: number): number
  mincore(addr: number, len: number, vec: Uint8Array): number
  munmap(addr: number, len: number): number
}
let fns: MincoreFns | null = null
function bind(): MincoreFns {
  if (!fns) {
    const l = libc()
    fns = {
      mmap: l.func('intptr_t mmap(intptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)'),
      mincore: l.func('int mincore(intptr_t addr, size_t len, _Inout_ uint8_t *vec)'),
      munmap: l.func('int munmap(intptr_t addr, size_t len)'),
    } as MincoreFns
  }
  return fns
}

/** 1 GiB of address space per window: a 256 KiB vector, and no 100 GiB mapping at once. */
export const DEFAULT_WINDOW_BYTES = 1 << 30

/**
 * Walks the residency vector of [fromBytes, sizeBytes) of fd window by window (fromBytes a page
 * multiple). `onWindow` gets the vector (bit 0 of each byte = resident) of pages
 * [firstPage, firstPage + vec.length); the array is reused between windows, so copy what you keep.
 */
export function mincoreWalk(
  fd: number,
  sizeBytes: number,
  onWindow: (vec: Uint8Array, firstPage: number) => void,
  windowBytes = DEFAULT_WINDOW_BYTES,
  fromBytes = 0,
): void {
  const page = pageSizeBytes()
  if (fromBytes % page !== 0) throw new Error(`mincoreWalk: fromBytes ${fromBytes} is not a multiple of the page size`)
  const windowAligned = Math.max(page, Math.floor(windowBytes / page) * page)
  const { mmap, mincore, munmap } = bind()
  // Sized for the range when it is smaller than a window: leaf scans of a few MiB run every tick.
  const vecAll = new Uint8Array(Math.ceil(Math.min(windowAligned, Math.max(page, sizeBytes - fromBytes)) / page))
  for (let off = fromBytes; off < sizeBytes; off += windowAligned) {
    const len = Math.min(windowAligned, sizeBytes - off)
    const addr = mmap(0, len, PROT_READ, MAP_SHARED, fd, off)
    if (addr === -1) throw new Error(`mmap(fd ${fd}, off ${off}) failed: ${errnoName(errno())}`)
    try {
      const pages = Math.ceil(len / page)
      const vec = vecAll.subarray(0, pages)
      if (mincore(addr, len, vec) !== 0) throw new Error(`mincore(fd ${fd}, off ${off}) failed: ${errnoName(errno())}`)
      onWindow(vec, off / page)
    } finally {
      munmap(addr, len)
    }
  }
}

/** Resident pages of [0, sizeBytes) of fd by mincore. */
export function mincorePages(fd: number, sizeBytes: number, windowBytes = DEFAULT_WINDOW_BYTES): number {
  let resident = 0
  mincoreWalk(
    fd,
    sizeBytes,
    (vec) => {
      for (let i = 0; i < vec.length; i++) resident += vec[i] & 1
    },
    windowBytes,
  )
  return resident
}

/**
 * Why mincore would lie about this file for the current user, or null when it tells the truth.
 * The kernel answers mincore truthfully only to the file's owner, a CAP_FOWNER holder, or someone
 * who may write it; everyone else sees every page as resident (a side-channel mitigation).
 */
export function mincoreHiddenReason(path: string): string | null {
  const euid = process.geteuid?.() ?? -1
  if (euid === 0) return null // CAP_FOWNER, in the common case of root
  const st = statSync(path)
  if (st.uid === euid) return null
  try {
    accessSync(path, fsConstants.W_OK)
    return null
  } catch {
    return hiddenResidencyReason
  }
}

export const hiddenResidencyReason =
  'you neither own nor may write this file, so the kernel hides its page-cache residency ' +
  '(cachestat refuses; mincore, vmtouch and fincore would report 100% whatever the truth)'
