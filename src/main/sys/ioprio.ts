// ioprio_set(2)/ioprio_get(2). I/O priority belongs to a thread, and Node reads files on its libuv
// pool threads, so a background warm sets every thread of this process (see setProcessIoPriority).
// Only schedulers that honour priorities (BFQ) act on it; mq-deadline and none ignore it.
import { readdirSync } from 'node:fs'
import { arch } from 'node:process'
import { libc, errno, errnoName } from './libc'

export const IOPRIO_CLASS = { NONE: 0, RT: 1, BE: 2, IDLE: 3 } as const
const IOPRIO_WHO_PROCESS = 1
const nr = arch === 'arm64' ? { set: 30, get: 31 } : { set: 251, get: 252 }

let syscall3: ((n: number, a: number, b: number, c: number) => number) | null = null
function sys(): (n: number, a: number, b: number, c: number) => number {
  if (!syscall3) syscall3 = libc().func('long syscall(long n, int a, int b, int c)')
  return syscall3
}

export function ioprioValue(klass: number, level = 0): number {
  return (klass << 13) | (level & 7)
}

/** The raw ioprio of one thread (tid) */
export function getIoPriority(tid: number): number {
  const v = sys()(nr.get, IOPRIO_WHO_PROCESS, tid, 0)
  if (v < 0) throw new Error(`ioprio_get(${tid}): ${errnoName(errno())}`)
  return v
}

/** Sets every thread of this process (threads started later inherit from the one that starts them). Returns the old values per tid. */
export function setProcessIoPriority(ioprio: number): Map<number, number> {
  const old = new Map<number, number>()
  for (const name of readdirSync('/proc/self/task')) {
    const tid = Number(name)
    try {
      old.set(tid, getIoPriority(tid))
      if (sys()(nr.set, IOPRIO_WHO_PROCESS, tid, ioprio) < 0) throw new Error(errnoName(errno()))
    } catch {
      // a thread that exited between readdir and the call
    }
  }
  return old
}

export function restoreIoPriority(old: Map<number, number>): void {
  for (const [tid, v] of old) sys()(nr.set, IOPRIO_WHO_PROCESS, tid, v)
}
