// inotify: both per-user limits against what is in use, counted per user from /proc/*/fd
// (anon_inode:inotify descriptors are instances) and /proc/*/fdinfo ("inotify wd:" lines are
// watches). LM Studio fails with "inotify_init failed: Too many open files" when instances run out.
import { readFile } from 'node:fs/promises'
import type { Evidence, Finding } from '../../../shared/api'
import { inotifyKeys } from '../staging/inotify'
import { readFailure } from '../procs'
import type { DoctorInputs } from './inputs'
import { countEv, ev, unknownEv, type Check } from './types'

export interface InotifyUse {
  pid: number
  comm: string
  uid: number
  instances: number
  watches: number
}

/** Instances and watches per process, for every process this user may inspect. */
export async function inotifyUse(inputs: DoctorInputs): Promise<{ rows: InotifyUse[]; hidden: number; unknownWatches: number }> {
  const rows: InotifyUse[] = []
  let hidden = 0
  let unknownWatches = 0
  for (const p of await inputs.rawProcesses()) {
    if (p.fds === null) {
      hidden++
      continue
    }
    const fds = p.fds.filter((f) => f.target === 'anon_inode:inotify')
    if (fds.length === 0) continue
    const status = await inputs.proc.status(p.pid)
    if (!status.ok) continue // exited meanwhile
    let watches = 0
    for (const f of fds) {
      const info = await inputs.proc.fdinfo(p.pid, f.fd)
      if (info.ok) watches += info.value.inotifyWatches
      else unknownWatches++
    }
    rows.push({ pid: p.pid, comm: p.comm, uid: status.value.uid, instances: fds.length, watches })
  }
  return { rows, hidden, unknownWatches }
}

async function limit(file: string): Promise<{ value: number } | { reason: string }> {
  try {
    const t = (await readFile(file, 'utf8')).trim()
    return /^\d+$/.test(t) ? { value: Number(t) } : { reason: `${file} is malformed (${JSON.stringify(t.slice(0, 20))})` }
  } catch (err) {
    return { reason: readFailure(file, err) }
  }
}

export const inotifyCheck: Check = {
  id: 'inotify',
  async run(inputs) {
    const uid = process.getuid?.() ?? 0
    const use = await inotifyUse(inputs)
    const mine = use.rows.filter((r) => r.uid === uid)
    const others = new Map<number, InotifyUse[]>()
    for (const r of use.rows) if (r.uid !== uid) others.set(r.uid, [...(others.get(r.uid) ?? []), r])
    const out: Finding[] = []
    let persisted: Map<string, number | null> = new Map()
    try {
      const s = await inputs.inotifyStatus()
      persisted = new Map([s.watches, s.instances].map((l) => [l.key, l.persisted]))
    } catch {
      /* only adds the persisted value to the evidence */
    }
    for (const kind of ['instances', 'watches'] as const) {
      const k = inotifyKeys[kind]
      const file = `${inputs.roots.proc}/sys/fs/inotify/max_user_${kind}`
      const lim = await limit(file)
      const used = mine.reduce((s, r) => s + r[kind], 0)
      const top = [...mine].sort((a, b) => b[kind] - a[kind]).slice(0, 6)
      const evidence: Evidence[] = [
        countEv(`${kind} in use by uid ${uid}`, used, `${inputs.roots.proc}/*/${kind === 'instances' ? 'fd (anon_inode:inotify)' : 'fdinfo ("inotify wd:" lines)'}`),
        ...top.map((r) => countEv(`${r.comm} (pid ${r.pid})`, r[kind])),
        // Root sees every user's processes: each user's own total, against the same per-user limit.
        ...[...others].map(([u, rows]) => countEv(`${kind} in use by uid ${u}`, rows.reduce((s, r) => s + r[kind], 0))),
        ...('value' in lim ? [countEv(k.key, lim.value, file)] : [unknownEv(k.key, lim.reason, file)]),
        countEv('common advice', k.recommended),
        ev('persisted in /etc/sysctl.d', String(persisted.get(k.key) ?? 'no')),
        ...(use.hidden > 0 ? [ev('not counted', `${use.hidden} processes of other users this user cannot inspect (they count against their own users' limits)`)] : []),
        ...(kind === 'watches' && use.unknownWatches > 0 ? [ev('fdinfo unreadable', `${use.unknownWatches} inotify descriptors`)] : []),
      ]
      const fix = { label: `Raise both inotify limits (${inotifyKeys.instances.recommended} instances, ${inotifyKeys.watches.recommended} watches) and keep them`, action: { kind: 'inotify' as const, persist: true }, command: 'hearth sysctl inotify --apply --persist' }
      const base = { id: `inotify:${kind}`, check: 'inotify', evidence }
      if (!('value' in lim)) {
        out.push({ ...base, status: 'info', title: `inotify ${kind}: limit unknown (${used} in use)`, why: 'The limit could not be read.', unknown: lim.reason })
        continue
      }
      const frac = used / Math.max(1, lim.value)
      const low = lim.value < k.recommended
      const what = kind === 'instances' ? 'LM Studio and other apps fail to start watching with "inotify_init failed: Too many open files"' : 'apps stop noticing new or changed model files'
      if (used >= lim.value) out.push({ ...base, status: 'fail', title: `inotify ${kind} exhausted: ${used} of ${lim.value} in use`, why: `Every new ${kind === 'instances' ? 'instance' : 'watch'} is refused: ${what}.`, fix })
      else if (frac >= 0.8) out.push({ ...base, status: 'warn', title: `inotify ${kind} nearly exhausted: ${used} of ${lim.value} in use`, why: `When they run out, ${what}.`, fix })
      else if (low && kind === 'instances') out.push({ ...base, status: 'info', title: `inotify ${kind}: ${used} of ${lim.value} in use (below the common ${k.recommended})`, why: `There is room now; at ${lim.value} a few more apps are enough to run out, and then ${what}.`, fix })
      else out.push({ ...base, status: 'ok', title: `inotify ${kind}: ${used} of ${lim.value} in use`, why: 'Plenty left.' })
    }
    return out
  },
}
