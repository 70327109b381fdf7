import { readFile } from 'node:fs/promises'
import { parseMeminfo } from '../telemetry/proc-parsers'

export interface MemInfo {
  memTotalBytes: number
  memFreeBytes: number
  memAvailableBytes: number
  cachedBytes: number
  shmemBytes: number
  mlockedBytes: number
}

export async function readMemInfo(): Promise<MemInfo> {
  const m = parseMeminfo(await readFile('/proc/meminfo', 'utf8'))
  const kb = (key: string) => m.get(key) ?? 0
  return {
    memTotalBytes: kb('MemTotal'),
    memFreeBytes: kb('MemFree'),
    memAvailableBytes: kb('MemAvailable'),
    cachedBytes: kb('Cached'),
    shmemBytes: kb('Shmem'),
    mlockedBytes: kb('Mlocked'),
  }
}

export interface MemlockLimit {
  /** null: unlimited (RLIMIT_MEMLOCK infinity, or CAP_IPC_LOCK) */
  limitBytes: number | null
  /** What this process has locked now (VmLck) */
  lockedBytes: number
  viaCapability: boolean
}

export async function memlockLimit(): Promise<MemlockLimit> {
  const [limits, status] = await Promise.all([readFile('/proc/self/limits', 'utf8'), readFile('/proc/self/status', 'utf8')])
  const soft = /^Max locked memory\s+(\S+)/m.exec(limits)?.[1] ?? 'unlimited'
  const capEff = BigInt('0x' + (/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? '0'))
  const viaCapability = ((capEff >> 14n) & 1n) === 1n // CAP_IPC_LOCK
  const lockedBytes = Number(/^VmLck:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024
  return { limitBytes: viaCapability || soft === 'unlimited' ? null : Number(soft), lockedBytes, viaCapability }
}
