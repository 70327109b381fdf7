// Real cgroups for tests (v1 blkio to slow reads down). Everything made here is removed by the
// returned cleanup function.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { major, minor } from '../../src/main/services/jobs/device'

/** Puts this process (or `pid`) in a blkio cgroup that caps reads from the file's disk at bytesPerSec. */
export function throttleReads(path: string, bytesPerSec: number, pid = process.pid): () => void {
  const st = statSync(path)
  // partitions throttle at their disk; the cgroup wants MAJ:MIN of the whole disk
  const key = `${major(st.dev)}:${minor(st.dev)}`
  const disk = diskDevOf(key)
  const cg = `/sys/fs/cgroup/blkio/hearth-test-${process.pid}-${Date.now()}`
  mkdirSync(cg)
  const before = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
  const oldBlkio = /^\d+:blkio:(.*)$/m.exec(before)?.[1] ?? '/'
  writeFileSync(`${cg}/blkio.throttle.read_bps_device`, `${disk} ${bytesPerSec}`)
  writeFileSync(`${cg}/cgroup.procs`, String(pid))
  return () => {
    writeFileSync(`${cg}/blkio.throttle.read_bps_device`, `${disk} 0`)
    writeFileSync(`/sys/fs/cgroup/blkio${oldBlkio === '/' ? '' : oldBlkio}/cgroup.procs`, String(pid))
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

