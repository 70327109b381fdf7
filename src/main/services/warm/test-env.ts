// Test helpers on real files and real cgroups (v1 blkio to slow reads down, v1 memory to bound a
// memory hog). Everything made here is removed by the returned cleanup functions.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deviceKeyOf } from '../jobs'
import { major, minor } from '../jobs/device'
import { statSync } from 'node:fs'

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A file of real (random) data, written back (dirty pages cannot be dropped) and evicted from the cache. */
export function makeDataFile(path: string, mib: number): string {
  execFileSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${mib}`, 'conv=fsync', 'status=none'])
  evictFile(path)
  return path
}

export function evictFile(path: string): void {
  execFileSync('dd', ['of=/dev/null', 'iflag=nocache', 'count=0', `if=${path}`, 'status=none'])
}

/** Resident bytes as util-linux fincore sees them (an independent check of our cachestat use). */
export function fincoreBytes(path: string): number {
  const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]).toString().trim()
  return Number(out)
}

/** Puts this process in a blkio cgroup that caps reads from the file's disk at bytesPerSec. */
export function throttleReads(path: string, bytesPerSec: number): () => void {
  const st = statSync(path)
  // partitions throttle at their disk; the cgroup wants MAJ:MIN of the whole disk
  const key = `${major(st.dev)}:${minor(st.dev)}`
  const disk = diskDevOf(key)
  const cg = `/sys/fs/cgroup/blkio/hearth-test-${process.pid}-${Date.now()}`
  mkdirSync(cg)
  const before = readFileSync(`/proc/self/cgroup`, 'utf8')
  const oldBlkio = /^\d+:blkio:(.*)$/m.exec(before)?.[1] ?? '/'
  writeFileSync(`${cg}/blkio.throttle.read_bps_device`, `${disk} ${bytesPerSec}`)
  writeFileSync(`${cg}/cgroup.procs`, String(process.pid))
  return () => {
    writeFileSync(`${cg}/blkio.throttle.read_bps_device`, `${disk} 0`)
    writeFileSync(`/sys/fs/cgroup/blkio${oldBlkio === '/' ? '' : oldBlkio}/cgroup.procs`, String(process.pid))
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(cg)
        return
      } catch {
        execFileSync('sleep', ['0.1'])
      }
    }
  }
}

function diskDevOf(majMin: string): string {
  try {
    const real = execFileSync('readlink', ['-f', `/sys/dev/block/${majMin}`]).toString().trim()
    const isPart = execFileSync('sh', ['-c', `test -e ${real}/partition && echo y || echo n`]).toString().trim() === 'y'
    return isPart ? readFileSync(`${real}/../dev`, 'utf8').trim() : majMin
  } catch {
    return majMin
  }
}

export { deviceKeyOf }
