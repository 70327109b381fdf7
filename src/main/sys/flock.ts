// flock(2) on a descriptor: held while the process lives, released by the kernel when it dies,
// so "is another Hearth daemon running" has an answer no stale file can fake.
import { libc, errno, errnoName, E } from './libc'

const LOCK_EX = 2
const LOCK_NB = 4

let fn: ((fd: number, op: number) => number) | null = null

/** Takes an exclusive lock without waiting: true when taken, false when another holds it. */
export function tryLockExclusive(fd: number): boolean {
  fn ??= libc().func('int flock(int fd, int op)')
  if (fn(fd, LOCK_EX | LOCK_NB) === 0) return true
  const e = errno()
  if (e === E.EAGAIN) return false
  throw new Error(`flock: ${errnoName(e)}`)
}
