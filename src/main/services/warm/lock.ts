// Locks files in RAM: mmap + mlock held by this (long-lived) process. The kernel never evicts
// locked pages; the locks end with unlock or with the process. mlock runs in 64 MiB steps on a
// worker thread so a cold file shows progress and a cancel acts between steps.
import { closeSync, fstatSync, openSync } from 'node:fs'
import { HearthError } from '../../../shared/api'
import { mlockAsync, mmapRead, munlock, munmap, SysError } from '../../sys/mlock'
import { describeFsError } from './errors'

const stepBytes = 64 << 20

/** mlock itself said no (ENOMEM/EPERM: over RLIMIT_MEMLOCK, or RAM ran out); the helper may still lock it. */
export class MlockRefusedError extends HearthError {
  constructor(path: string, errnoCode: string) {
    super('TOO_LARGE', `mlock of ${path} failed (${errnoCode}): the memory-lock limit or free RAM ran out; see \`ulimit -l\` and MemAvailable`, { path, errno: errnoCode })
  }
}

export interface FileLock {
  path: string
  addr: number
  lengthBytes: number
}

export async function lockFile(path: string, signal: AbortSignal, onBytes: (n: number) => void): Promise<FileLock> {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    throw describeFsError(err, path, 'open for lock')
  }
  let addr = 0
  let lengthBytes = 0
  try {
    lengthBytes = fstatSync(fd).size
    if (lengthBytes === 0) return { path, addr: 0, lengthBytes: 0 }
    addr = mmapRead(fd, lengthBytes)
  } catch (err) {
    throw err instanceof SysError ? new HearthError('IO', `cannot map ${path}: ${err.message}`) : err
  } finally {
    closeSync(fd) // the mapping keeps the file
  }
  try {
    for (let off = 0; off < lengthBytes; off += stepBytes) {
      if (signal.aborted) throw new HearthError('CANCELLED', 'cancelled')
      const len = Math.min(stepBytes, lengthBytes - off)
      await mlockAsync(addr + off, len)
      onBytes(len)
    }
    return { path, addr, lengthBytes }
  } catch (err) {
    munmap(addr, lengthBytes) // also drops the part already locked
    if (err instanceof SysError) throw new MlockRefusedError(path, err.code)
    throw err
  }
}

export function unlockFile(lock: FileLock): void {
  if (lock.lengthBytes === 0) return
  munlock(lock.addr, lock.lengthBytes)
  munmap(lock.addr, lock.lengthBytes)
}
