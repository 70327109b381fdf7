// Controlled memory for lab runs. Two ways, as researchers do it:
//  - the loader alone in a memory-limited cgroup ("leave only N GiB for the model"): cgroup v1
//    through the helper (only root makes v1 cgroups), cgroup v2 through the user's systemd
//    (`systemd-run --user --scope`), or directly when Hearth runs as root on v2. Only the
//    experiment is squeezed, not the desktop. The limit follows the loader's own anonymous memory
//    (limit = leave + anon + margin), so N is what the model's pages get, whatever the loader
//    allocates for itself.
//  - dummy memory locked system-wide through the helper, always keeping its reserve.
// And the swap state, which decides what can move out at all.
import { existsSync, readFileSync } from 'node:fs'
import { readFile, writeFile, mkdir, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { HearthError, type LabCgroupSupport, type LabPressureState, type LabSwapState } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import type { HelperClient } from '../../helper-client'
import type { Env } from '../../paths'
import { parseMeminfo } from '../telemetry/proc-parsers'

const MiB = 2 ** 20
/** Room for what else the loader's cgroup charges (its binaries, small files) beside the model. */
const marginBytes = 32 * MiB
/** Before the loader reports its own memory: enough to start a runtime. */
const startAllowanceBytes = 512 * MiB

export type LabHelper = Pick<HelperClient, 'status' | 'request' | 'running' | 'onReset'>

export interface CgroupStats {
  limitBytes: number | null
  anonBytes: number | null
  refaults: number | null
}

/**
 * A cgroup of one run: start the loader through `wrap`, pass its pid to adopt() at once when
 * there is one, call track() at every sample, dispose() after.
 */
export interface LimitedCgroup {
  /** argv prefix that puts the loader in the cgroup before it runs (its pid stays the loader's) */
  wrap: string[]
  /**
   * Where the helper moves the process in (v1): `wrap` stops it before it runs anything, and
   * this moves it, then lets it go. Rejects (the process stays stopped) when the helper refuses.
   */
  adopt?(pid: number): Promise<void>
  /** Sets limit = leave + the cgroup's anonymous memory + margin; returns the cgroup's figures */
  track(pid: number): Promise<CgroupStats>
  dispose(): Promise<void>
}

export interface CgroupLimiter extends LabCgroupSupport {
  create(leaveBytes: number): Promise<LimitedCgroup>
}

/** What the filesystem says about cgroups here (injectable for tests of other layouts). */
export interface CgroupProbe {
  uid: number
  env: Env
  exists(path: string): boolean
  read(path: string): string | null
}

const realProbe = (env: Env): CgroupProbe => ({
  uid: process.getuid?.() ?? -1,
  env,
  exists: existsSync,
  read: (p) => {
    try {
      return readFileSync(p, 'utf8')
    } catch {
      return null
    }
  },
})

export type CgroupFlavour = 'v1-helper' | 'v2-systemd' | 'v2-root' | 'none'

/** Which way of limiting a loader works here, or why none does. */
export function cgroupFlavour(p: CgroupProbe, helperReason: string | null): { flavour: CgroupFlavour; how: string; reason?: string } {
  if (p.exists('/sys/fs/cgroup/memory/cgroup.procs')) {
    const how = 'cgroup v1 through the helper'
    return helperReason === null ? { flavour: 'v1-helper', how } : { flavour: 'none', how, reason: `cgroup v1 memory limits need the privileged helper: ${helperReason}` }
  }
  const controllers = p.read('/sys/fs/cgroup/cgroup.controllers')
  if (controllers === null || !controllers.split(/\s+/).includes('memory')) {
    return { flavour: 'none', how: 'none', reason: 'no memory cgroup controller is mounted here (neither /sys/fs/cgroup/memory nor cgroup v2 with memory)' }
  }
  if (p.uid === 0) return { flavour: 'v2-root', how: 'cgroup v2 (Hearth runs as root)' }
  const runtime = p.env.XDG_RUNTIME_DIR
  if (runtime && p.exists(join(runtime, 'systemd', 'private'))) return { flavour: 'v2-systemd', how: 'cgroup v2 through systemd-run --user --scope' }
  return {
    flavour: 'none',
    how: 'cgroup v2 through systemd-run --user --scope',
    reason: 'no systemd user manager answers in this session (no $XDG_RUNTIME_DIR/systemd/private); log in to a desktop session, or use the locked-memory method',
  }
}

function statValue(text: string | null, key: string): number | null {
  if (text === null) return null
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text)
  return m ? Number(m[1]) : null
}

/** Keeps limit = leave + anon + margin on a cgroup directory, reading its memory.stat. */
function tracker(dir: () => Promise<string | null>, v1: boolean, leaveBytes: number) {
  let last = 0
  return async (): Promise<CgroupStats> => {
    const d = await dir()
    if (!d) return { limitBytes: null, anonBytes: null, refaults: null }
    const stat = await readFile(join(d, 'memory.stat'), 'utf8').catch(() => null)
    const anon = statValue(stat, v1 ? 'rss' : 'anon')
    const refaults = statValue(stat, 'workingset_refault_file') ?? statValue(stat, 'workingset_refault')
    if (anon !== null) {
      const want = leaveBytes + anon + marginBytes
      // Rewriting the limit costs the kernel a reclaim pass when it goes down: only on real change.
      if (Math.abs(want - last) > 4 * MiB) {
        const ok = await writeFile(join(d, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(want)).then(() => true, () => false)
        if (ok) last = want
      }
    }
    return { limitBytes: last || null, anonBytes: anon, refaults }
  }
}

/** argv prefix: move the shell into the cgroup, then become the loader (same pid). */
const shellInto = (procsFile: string) => ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', procsFile]

/** argv prefix: the shell stops itself until it has been moved (adopt), then becomes the loader. */
const stopUntilMoved = ['/bin/sh', '-c', 'kill -STOP $$ && exec "$@"', 'sh']

const stoppedState = (pid: number) => {
  try {
    // "pid (comm) S ...": the state follows the last ')' (comm may hold anything)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T'
  } catch {
    return false
  }
}

/** Waits for the wrapper to stop itself, has the helper move it into cgroup `id`, lets it go. */
async function moveInThroughHelper(helper: LabHelper, id: string, pid: number): Promise<void> {
  for (let i = 0; i < 400 && !stoppedState(pid); i++) await new Promise((ok) => setTimeout(ok, 5))
  if (!stoppedState(pid)) throw new HearthError('INTERNAL', `the loader (pid ${pid}) did not wait to be moved into its memory cgroup`)
  await helper.request('cgroup-join', { id, pid: String(pid) })
  process.kill(pid, 'SIGCONT')
}

async function rmdirSoon(dir: string): Promise<void> {
  // The kernel empties cgroup.procs a moment after the last process is reaped.
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(dir)
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      if (code !== 'EBUSY') throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

let runSeq = 0

export function createCgroupLimiter(helper: LabHelper, env: Env, probe: CgroupProbe = realProbe(env)): CgroupLimiter {
  const hs = helper.status()
  const { flavour, how, reason } = cgroupFlavour(probe, hs.available ? null : (hs.reason ?? 'the privileged helper is unavailable'))
  const support: LabCgroupSupport = { available: flavour !== 'none', how, ...(reason ? { reason } : {}) }

  async function create(leaveBytes: number): Promise<LimitedCgroup> {
    if (flavour === 'none') throw new HearthError('UNSUPPORTED', reason ?? 'memory limits are not available here')
    const initial = leaveBytes + startAllowanceBytes
    if (flavour === 'v1-helper') {
      const r = await helper.request('cgroup-create', { limit: String(Math.max(16 * MiB, initial)) })
      const dir = r.fields.path
      return {
        wrap: stopUntilMoved,
        adopt: (pid) => moveInThroughHelper(helper, r.fields.id, pid),
        track: tracker(async () => dir, true, leaveBytes),
        async dispose() {
          for (let i = 0; i < 50; i++) {
            try {
              await helper.request('cgroup-remove', { id: r.fields.id })
              return
            } catch (err) {
              if ((err as HearthError).code !== 'BUSY') throw err
              await new Promise((ok) => setTimeout(ok, 50))
            }
          }
        },
      }
    }
    if (flavour === 'v2-root') {
      const parent = '/sys/fs/cgroup/hearth-lab'
      await mkdir(parent, { recursive: true })
      await writeFile(join(parent, 'cgroup.subtree_control'), '+memory').catch(() => {})
      const dir = join(parent, `run-${process.pid}-${++runSeq}`)
      await mkdir(dir)
      await writeFile(join(dir, 'memory.max'), String(initial))
      return { wrap: shellInto(join(dir, 'cgroup.procs')), track: tracker(async () => dir, false, leaveBytes), dispose: () => rmdirSoon(dir) }
    }
    // v2 with a user manager: systemd makes the scope and execs the loader in it (same pid).
    let dir: string | null = null
    let pidSeen = 0
    const unit = `hearth-lab-${process.pid}-${++runSeq}`
    return {
      wrap: ['systemd-run', '--user', '--scope', '--quiet', '--collect', `--unit=${unit}`, '-p', `MemoryMax=${initial}`, '--'],
      track: async (pid) => {
        if (!dir || pid !== pidSeen) {
          const line = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n').find((l) => l.startsWith('0::'))
          dir = line ? join('/sys/fs/cgroup', line.slice(3)) : null
          pidSeen = pid
        }
        return tracker(async () => dir, false, leaveBytes)()
      },
      dispose: async () => {}, // --collect: systemd removes the scope when its process ends
    }
  }
  return { ...support, create }
}

// ---------- dummy memory locked through the helper ----------

const GiB = 2 ** 30
/** The helper's floor, mirrored for display before it runs: 2 GiB, at least 5% of RAM. */
export const pressureFloorBytes = (memTotalBytes: number) => Math.max(2 * GiB, Math.floor(memTotalBytes / 20))

export async function pressureState(helper: LabHelper, memTotalBytes: number): Promise<LabPressureState> {
  const s = helper.status()
  const floor = pressureFloorBytes(memTotalBytes)
  const none: LabPressureState = { available: s.available, heldBytes: 0, leaveBytes: 0, reserveBytes: floor, floorBytes: floor, shedBytes: 0, ...(s.available ? {} : { reason: s.reason }) }
  // Never start a helper (a password prompt) only to learn that nothing is held.
  if (!helper.running) return none
  try {
    return fromReply((await helper.request('pressure-status')).fields, s.available)
  } catch {
    return none
  }
}

function fromReply(f: Record<string, string>, available = true): LabPressureState {
  return {
    available,
    heldBytes: Number(f['held-bytes']),
    leaveBytes: Number(f['leave-bytes']),
    reserveBytes: Number(f['reserve-bytes']),
    floorBytes: Number(f['floor-bytes']),
    shedBytes: Number(f['shed-bytes']),
  }
}

export async function holdPressure(helper: LabHelper, leaveBytes: number, signal?: AbortSignal): Promise<LabPressureState> {
  const s = helper.status()
  if (!s.available) throw new HearthError('UNAVAILABLE', `locking dummy memory needs the privileged helper: ${s.reason ?? 'unavailable'}`)
  return fromReply((await helper.request('pressure', { leave: String(leaveBytes) }, { signal })).fields)
}

export async function releasePressure(helper: LabHelper): Promise<void> {
  if (helper.running) await helper.request('pressure-release')
}

// ---------- swap ----------

export function swapStateFrom(meminfo: string, swappiness: string | null, zswap: string | null): LabSwapState {
  const m = parseMeminfo(meminfo)
  const totalBytes = m.get('SwapTotal') ?? 0
  const freeBytes = m.get('SwapFree') ?? 0
  const sw = swappiness === null ? null : Number(swappiness.trim())
  const z = zswap === null ? null : /^[Y1]/.test(zswap.trim())
  const file = "The model's file-backed pages never go to swap: under pressure they are dropped and read again from the model file."
  const explanation =
    totalBytes === 0
      ? `No swap: the loader's own anonymous memory (KV cache, buffers) cannot leave RAM. ${file}`
      : `Swap ${formatBytes(totalBytes)} (${formatBytes(freeBytes)} free${sw === null ? '' : `, swappiness ${sw}`}${z ? ', zswap on' : ''}): anonymous memory can be pushed out to it. ${file} The dummy memory is locked, so it never goes to swap.`
  return { totalBytes, freeBytes, swappiness: Number.isFinite(sw) ? sw : null, zswap: z, explanation }
}

export async function readSwapState(): Promise<LabSwapState> {
  const opt = (p: string) => readFile(p, 'utf8').catch(() => null)
  const [meminfo, swappiness, zswap] = await Promise.all([readFile('/proc/meminfo', 'utf8'), opt('/proc/sys/vm/swappiness'), opt('/sys/module/zswap/parameters/enabled')])
  return swapStateFrom(meminfo, swappiness, zswap)
}
