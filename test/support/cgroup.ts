// Real cgroups for tests: a read-throttled group (to make a disk slow) and a memory-limited one
// (to make the kernel reclaim). cgroup v2 (io.max, memory.max) where the unified hierarchy is
// mounted with the controller, else v1 (blkio.throttle.read_bps_device, memory.limit_in_bytes).
// Each helper says which one it used; everything made here is removed by its cleanup.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { major, minor } from '../../src/main/services/jobs/device'

export type CgroupController = 'io' | 'memory'

export interface CgroupHierarchy {
  version: 'v1' | 'v2'
  /** Where the hierarchy holding the controller is mounted */
  mount: string
}

/** v1 names the io controller blkio. */
const v1Name: Record<CgroupController, string> = { io: 'blkio', memory: 'memory' }

/**
 * The hierarchy to use for a controller: v2 when the unified hierarchy is mounted and lists the
 * controller in its cgroup.controllers (a v2-only desktop), else the v1 hierarchy that has it
 * (hybrid machines bind the controllers to v1, leaving the unified one empty); or why neither.
 */
export function findHierarchy(
  controller: CgroupController,
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
  read: (path: string) => string | null = (p) => (existsSync(p) ? readFileSync(p, 'utf8') : null),
): CgroupHierarchy | { reason: string } {
  const mounts = mountinfo
    .split('\n')
    .map((l) => {
      const [pre, post] = l.split(' - ')
      if (!post) return null
      const [fstype, , superOpts = ''] = post.split(' ')
      return { mount: pre.split(' ')[4], fstype, superOpts: superOpts.split(',') }
    })
    .filter((m) => m !== null)
  const notes: string[] = []
  for (const m of mounts.filter((x) => x.fstype === 'cgroup2')) {
    const controllers = (read(join(m.mount, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean)
    if (controllers.includes(controller)) return { version: 'v2', mount: m.mount }
    notes.push(`cgroup v2 at ${m.mount} has no ${controller} controller (it lists: ${controllers.join(' ') || 'none'})`)
  }
  const v1 = mounts.find((x) => x.fstype === 'cgroup' && x.superOpts.includes(v1Name[controller]))
  if (v1) return { version: 'v1', mount: v1.mount }
  notes.push(`no cgroup v1 ${v1Name[controller]} hierarchy is mounted`)
  return { reason: notes.join('; ') }
}

/** Why this process cannot make test cgroups for the controller, or null when it can. */
export function cgroupUnavailable(controller: CgroupController): string | null {
  if (process.getuid?.() !== 0) return 'creating cgroups needs root'
  const h = findHierarchy(controller)
  return 'reason' in h ? h.reason : null
}

function hierarchy(controller: CgroupController): CgroupHierarchy {
  const h = findHierarchy(controller)
  if ('reason' in h) throw new Error(`no usable cgroup for ${controller}: ${h.reason}`)
  return h
}

/** The cgroup a process is in, within the hierarchy (a path relative to its mount). */
function cgroupOf(pid: number, h: CgroupHierarchy, controller: CgroupController): string {
  const text = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
  const re = h.version === 'v2' ? /^0::(.*)$/m : new RegExp(`^\\d+:(?:[^:]*,)?${v1Name[controller]}(?:,[^:]*)?:(.*)$`, 'm')
  return re.exec(text)?.[1] ?? '/'
}

export interface TestCgroup {
  version: 'v1' | 'v2'
  dir: string
  /** The file a process writes its pid to, to join */
  procsFile: string
  /** Moves a process (and the threads of it) into the group */
  add(pid: number): void
  /** Moves everything back where it was (or to the root) and removes the group */
  remove(): void
}

let seq = 0

/** A new group under the hierarchy's root, with the controller enabled for it (v2). */
function makeGroup(controller: CgroupController, label: string): TestCgroup & { h: CgroupHierarchy } {
  const h = hierarchy(controller)
  if (h.version === 'v2') {
    const ctl = join(h.mount, 'cgroup.subtree_control')
    if (!readFileSync(ctl, 'utf8').split(/\s+/).includes(controller)) writeFileSync(ctl, `+${controller}`)
  }
  const dir = join(h.mount, `hearth-test-${label}-${process.pid}-${++seq}`)
  mkdirSync(dir)
  const homes = new Map<number, string>()
  const procsFile = join(dir, 'cgroup.procs')
  return {
    h,
    version: h.version,
    dir,
    procsFile,
    add(pid) {
      homes.set(pid, cgroupOf(pid, h, controller))
      writeFileSync(procsFile, String(pid))
    },
    remove() {
      const left = readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number)
      for (const pid of left) {
        const home = homes.get(pid) ?? '/'
        try {
          writeFileSync(join(h.mount, home, 'cgroup.procs'), String(pid))
        } catch {
          // exited meanwhile, or its old group is gone: the root always takes it
          try {
            writeFileSync(join(h.mount, 'cgroup.procs'), String(pid))
          } catch {
            // exited
          }
        }
      }
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(dir)
          return
        } catch {
          execFileSync('sleep', ['0.1'])
        }
      }
    },
  }
}

/** "MAJ:MIN" of the whole disk under `path`: throttles name disks, not partitions. */
export function diskOf(path: string): string {
  const st = statSync(path)
  const majMin = `${major(st.dev)}:${minor(st.dev)}`
  try {
    const real = execFileSync('readlink', ['-f', `/sys/dev/block/${majMin}`]).toString().trim()
    return existsSync(join(real, 'partition')) ? readFileSync(join(real, '..', 'dev'), 'utf8').trim() : majMin
  } catch {
    return majMin
  }
}

const said = new Set<string>()
function say(line: string): void {
  if (said.has(line)) return
  said.add(line)
  console.log(line)
}

/**
 * Caps reads from the disk under `path` at bytesPerSec for the given process or processes (this
 * one by default): cgroup v2 io.max, or v1 blkio. Returns the undo.
 */
export function throttleReads(path: string, bytesPerSec: number, pid: number | number[] = process.pid): () => void {
  const pids = Array.isArray(pid) ? pid : [pid]
  const disk = diskOf(path)
  const g = makeGroup('io', 'io')
  const rule = g.version === 'v2' ? join(g.dir, 'io.max') : join(g.dir, 'blkio.throttle.read_bps_device')
  const on = g.version === 'v2' ? `${disk} rbps=${bytesPerSec}` : `${disk} ${bytesPerSec}`
  const off = g.version === 'v2' ? `${disk} rbps=max` : `${disk} 0`
  try {
    writeFileSync(rule, on)
    for (const pid of pids) g.add(pid)
  } catch (err) {
    g.remove()
    throw err
  }
  say(`read throttle: cgroup ${g.version} (${g.version === 'v2' ? 'io.max' : 'blkio.throttle.read_bps_device'} under ${g.h.mount})`)
  return () => {
    writeFileSync(rule, off)
    g.remove()
  }
}

export interface MemoryCgroup extends TestCgroup {
  /** How many times usage ran into the limit (v1 memory.failcnt, v2 memory.events "max") */
  limitHits(): number
}

/** A group whose members together may use at most limitBytes (page cache included), without swap. */
export function memoryLimited(limitBytes: number): MemoryCgroup {
  const g = makeGroup('memory', 'mem')
  try {
    if (g.version === 'v2') {
      writeFileSync(join(g.dir, 'memory.max'), String(limitBytes))
      if (existsSync(join(g.dir, 'memory.swap.max'))) writeFileSync(join(g.dir, 'memory.swap.max'), '0')
    } else {
      writeFileSync(join(g.dir, 'memory.limit_in_bytes'), String(limitBytes))
      writeFileSync(join(g.dir, 'memory.swappiness'), '0')
    }
  } catch (err) {
    g.remove()
    throw err
  }
  say(`memory limit: cgroup ${g.version} (${g.version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes'} under ${g.h.mount})`)
  return {
    ...g,
    limitHits() {
      if (g.version === 'v1') return Number(readFileSync(join(g.dir, 'memory.failcnt'), 'utf8'))
      return Number(/^max (\d+)$/m.exec(readFileSync(join(g.dir, 'memory.events'), 'utf8'))?.[1] ?? 0)
    },
  }
}
