// Limits and memory settings around locking and anonymous memory: RLIMIT_MEMLOCK of the user and
// of model processes (an mlock beyond it fails), swap (without it anonymous memory pins RAM), and
// transparent huge pages / tmpfs huge= (which change how a RAM disk and mappings behave).
import { readFile } from 'node:fs/promises'
import type { Evidence, Finding } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import { readFailure } from '../procs'
import type { DoctorInputs } from './inputs'
import { bytesEv, ev, unknownEv, type Check } from './types'

const memlockName = 'Max locked memory'

async function memlockFindings(inputs: DoctorInputs): Promise<Finding[]> {
  const out: Finding[] = []
  const self = await inputs.proc.limits('self')
  const statusText = await readFile(inputs.proc.path('self', 'status'), 'utf8').catch(() => '')
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(statusText)?.[1]
  const ipcLock = capEff !== undefined && ((BigInt(`0x${capEff}`) >> 14n) & 1n) === 1n
  const largest = [...inputs.modelsById.values()].reduce((a, m) => Math.max(a, m.bytes), 0)
  const limitsFile = inputs.proc.path('self', 'limits')
  const lim = self.ok ? self.value.get(memlockName) : undefined
  if (!self.ok || !lim) {
    const reason = self.ok ? `${limitsFile} has no "${memlockName}" line` : self.reason
    out.push({ id: 'limits:memlock', check: 'limits', status: 'info', title: 'Your memory-lock limit (RLIMIT_MEMLOCK): unknown', evidence: [unknownEv('RLIMIT_MEMLOCK', reason, limitsFile)], why: 'Locking a model needs a limit at least its size.', unknown: reason })
  } else {
    const soft = lim.soft
    const evidence: Evidence[] = [
      soft === null ? ev('soft limit', 'unlimited', limitsFile) : bytesEv('soft limit', soft, limitsFile),
      lim.hard === null ? ev('hard limit', 'unlimited', limitsFile) : bytesEv('hard limit', lim.hard, limitsFile),
      ev('CAP_IPC_LOCK', ipcLock ? 'yes (limit does not apply)' : 'no', inputs.proc.path('self', 'status')),
      bytesEv('largest model', largest),
      ev('privileged helper', inputs.helperAvailable() ? 'available: Hearth locks beyond the limit through it' : `unavailable: ${inputs.helperReason() ?? 'not set up'}`),
    ]
    const short = !ipcLock && soft !== null && soft < largest
    out.push({
      id: 'limits:memlock',
      check: 'limits',
      status: short && !inputs.helperAvailable() ? 'warn' : 'info',
      title: ipcLock ? 'You may lock any amount of memory (CAP_IPC_LOCK: RLIMIT_MEMLOCK does not apply)' : soft === null ? 'You may lock any amount of memory (RLIMIT_MEMLOCK unlimited)' : `Your memory-lock limit is ${formatBytes(soft)}${short ? `, less than your largest model (${formatBytes(largest)})` : ''}`,
      evidence,
      why: short
        ? 'Loaders asked to lock a model (llama.cpp --mlock, LM Studio "keep model in memory") fail beyond this limit and the model stays evictable. Hearth itself locks beyond it through the privileged helper when that is available.'
        : 'Locking is not limited below your model sizes.',
      ...(short ? { fix: { label: 'Raise the limit for your user (log in again after)', command: `echo '${inputs.env.USER ?? 'youruser'} - memlock unlimited' | sudo tee /etc/security/limits.d/90-memlock.conf` } } : {}),
    })
  }
  for (const p of await inputs.processes()) {
    if (p.files.length === 0) continue
    const l = p.limits.ok ? p.limits.value.get(memlockName) : undefined
    const locked = p.status.ok ? p.status.value.vmLckBytes : null
    const modelIds = [...new Set(p.files.map((f) => f.modelId))]
    const bytes = modelIds.reduce((s, id) => s + inputs.modelBytes(id), 0)
    const wantsLock = Boolean(p.llama?.mlock)
    const who = `${p.runtime?.label ?? p.comm} (pid ${p.pid})`
    const evidence: Evidence[] = [
      !p.limits.ok || !l ? unknownEv('RLIMIT_MEMLOCK (soft)', p.limits.ok ? 'no line' : p.limits.reason, inputs.proc.path(p.pid, 'limits')) : l.soft === null ? ev('RLIMIT_MEMLOCK (soft)', 'unlimited', inputs.proc.path(p.pid, 'limits')) : bytesEv('RLIMIT_MEMLOCK (soft)', l.soft, inputs.proc.path(p.pid, 'limits')),
      locked === null ? unknownEv('locked now (VmLck)', p.status.ok ? 'no VmLck line' : p.status.reason, inputs.proc.path(p.pid, 'status')) : bytesEv('locked now (VmLck)', locked, inputs.proc.path(p.pid, 'status')),
      bytesEv('its models', bytes),
      ev('asks to lock', wantsLock ? `yes (${p.llama?.flags.join(' ')})` : 'not on its command line'),
    ]
    const failed = wantsLock && locked !== null && locked < 0.9 * bytes && l !== undefined && l.soft !== null && l.soft < bytes
    out.push({
      id: `limits:memlock:${p.runtime?.kind ?? p.comm}:${p.pid}`,
      check: 'limits',
      status: failed ? 'fail' : 'info',
      title: failed ? `${who} asked to lock its model but its limit is ${formatBytes(l!.soft!)}: only ${formatBytes(locked!)} is locked` : `${who}: memory-lock limit ${l === undefined ? 'unknown' : l.soft === null ? 'unlimited' : formatBytes(l.soft)}, ${locked === null ? '?' : formatBytes(locked)} locked`,
      evidence,
      why: failed ? 'The lock failed, so the model can be evicted like any other file despite --mlock.' : 'Shown for reference: locking is what keeps a model resident under pressure.',
      ...(failed ? { fix: { label: 'Raise the limit of the service or shell that starts it', command: 'LimitMEMLOCK=infinity   # in its systemd unit; or `ulimit -l unlimited` in the starting shell (as root)' } } : {}),
      modelIds,
    })
  }
  return out
}

async function swapFinding(inputs: DoctorInputs): Promise<Finding> {
  const mem = await inputs.meminfo()
  if (!mem.ok) return { id: 'limits:swap', check: 'limits', status: 'info', title: 'Swap: unknown', evidence: [unknownEv('SwapTotal', mem.reason)], why: 'Swap lets the kernel page out anonymous memory.', unknown: mem.reason }
  const total = mem.value.get('SwapTotal')
  const free = mem.value.get('SwapFree')
  const file = `${inputs.roots.proc}/meminfo`
  if (total === undefined) return { id: 'limits:swap', check: 'limits', status: 'info', title: 'Swap: unknown', evidence: [unknownEv('SwapTotal', `${file} has no SwapTotal line`, file)], why: 'Swap lets the kernel page out anonymous memory.', unknown: `${file} has no SwapTotal line` }
  if (total === 0) {
    return { id: 'limits:swap', check: 'limits', status: 'info', title: 'No swap', evidence: [bytesEv('SwapTotal', 0, file)], why: 'Without swap, anonymous memory (a model read with mmap off, KV caches, other programs) cannot be paged out: it pins RAM, and under pressure the kernel can only evict page cache, warm models first.' }
  }
  return { id: 'limits:swap', check: 'limits', status: 'ok', title: `Swap: ${formatBytes(total)} (${formatBytes(free ?? 0)} free)`, evidence: [bytesEv('SwapTotal', total, file), bytesEv('SwapFree', free ?? 0, file)], why: 'Idle anonymous memory can be paged out instead of warm models being evicted.' }
}

/** "always [madvise] never" → "madvise" */
export function bracketed(text: string): string | null {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? null
}

async function hugeFinding(inputs: DoctorInputs): Promise<Finding> {
  const dir = `${inputs.roots.sys}/kernel/mm/transparent_hugepage`
  const read = async (name: string): Promise<Evidence> => {
    const file = `${dir}/${name}`
    try {
      const v = bracketed(await readFile(file, 'utf8'))
      return v ? ev(`THP ${name}`, v, file) : unknownEv(`THP ${name}`, `${file} is malformed (no [selected] value)`, file)
    } catch (err) {
      return unknownEv(`THP ${name}`, readFailure(file, err), file)
    }
  }
  const evidence = [await read('enabled'), await read('shmem_enabled')]
  const m = await inputs.mounts()
  if (m.ok) {
    const tmpfs = m.value.filter((x) => x.fstype === 'tmpfs' && (x.source === 'hearth' || x.mountPoint === '/dev/shm'))
    for (const t of tmpfs.slice(0, 4)) {
      const huge = t.superOptions.split(',').find((o) => o.startsWith('huge='))
      evidence.push(ev(`tmpfs ${t.mountPoint}${t.source === 'hearth' ? ' (Hearth RAM disk)' : ''}`, huge ?? 'huge=never (default)', `${inputs.roots.proc}/self/mountinfo`))
    }
    if (!tmpfs.some((t) => t.source === 'hearth')) evidence.push(ev("Hearth's RAM disk", 'not mounted now'))
  }
  const unknownAll = evidence.every((e) => e.unknown)
  return {
    id: 'limits:huge-pages',
    check: 'limits',
    status: 'info',
    title: unknownAll ? 'Transparent huge pages: unknown' : `Transparent huge pages: ${evidence[0].value}, shmem ${evidence[1].value}`,
    evidence,
    why: 'Huge pages change how fast a RAM disk fills and how mappings fault; on some machines tmpfs huge=always copies faster, on others slower (measure before changing it). They do not decide whether a model stays cached.',
    ...(unknownAll ? { unknown: evidence[0].unknown } : {}),
  }
}

export const limitsCheck: Check = {
  id: 'limits',
  async run(inputs) {
    const [memlock, swap, huge] = await Promise.all([memlockFindings(inputs), swapFinding(inputs), hugeFinding(inputs)])
    return [...memlock, swap, huge]
  },
}
