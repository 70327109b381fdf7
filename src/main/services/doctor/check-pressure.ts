// Memory pressure: PSI (some/full averages), workingset refaults (pages read again soon after
// being evicted: the page cache is too small for what is in use), and per model how much the
// kernel evicted in the last hour while nothing in Hearth asked for it.
import { readFile } from 'node:fs/promises'
import type { Evidence, Finding } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import { readFailure } from '../procs'
import { parseVmstat } from '../telemetry/proc-parsers'
import type { DoctorInputs } from './inputs'
import { bytesEv, countEv, ev, percentEv, plural, unknownEv, type Check } from './types'

export interface PsiLine {
  avg10: number
  avg60: number
  avg300: number
  totalUs: number
}

/** /proc/pressure/memory; null when the "some" line is missing or malformed. */
export function parsePsi(text: string): { some: PsiLine; full: PsiLine | null } | null {
  const line = (kind: string): PsiLine | null => {
    const m = new RegExp(`^${kind} avg10=([\\d.]+) avg60=([\\d.]+) avg300=([\\d.]+) total=(\\d+)`, 'm').exec(text)
    return m ? { avg10: Number(m[1]), avg60: Number(m[2]), avg300: Number(m[3]), totalUs: Number(m[4]) } : null
  }
  const some = line('some')
  return some ? { some, full: line('full') } : null
}

const refaultKey = (vm: Map<string, number>) => (vm.has('workingset_refault_file') ? 'workingset_refault_file' : vm.has('workingset_refault') ? 'workingset_refault' : null)

async function psiFinding(inputs: DoctorInputs): Promise<Finding> {
  const file = `${inputs.roots.proc}/pressure/memory`
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? `${file} is missing: the kernel was built without PSI (CONFIG_PSI)` : code === 'EOPNOTSUPP' ? `${file}: PSI is turned off (booted with psi=0)` : readFailure(file, err)
    return { id: 'pressure:psi', check: 'pressure', status: 'info', title: 'Memory pressure (PSI): unknown', evidence: [unknownEv('PSI', reason, file)], why: 'PSI says how much time tasks stall waiting for memory; without it, refaults below are the only pressure signal.', unknown: reason }
  }
  const psi = parsePsi(text)
  if (!psi) {
    const reason = `${file} is malformed (no "some avg10=… avg60=… avg300=… total=…" line)`
    return { id: 'pressure:psi', check: 'pressure', status: 'info', title: 'Memory pressure (PSI): unknown', evidence: [unknownEv('PSI', reason, file)], why: 'PSI could not be read.', unknown: reason }
  }
  const full = psi.full
  const evidence: Evidence[] = [percentEv('some avg10', psi.some.avg10, file), percentEv('some avg60', psi.some.avg60, file), percentEv('some avg300', psi.some.avg300, file), ...(full ? [percentEv('full avg60', full.avg60, file), percentEv('full avg300', full.avg300, file)] : [])]
  const fullAvg60 = full?.avg60 ?? 0
  const status = fullAvg60 >= 10 ? 'fail' : psi.some.avg60 >= 10 || fullAvg60 >= 1 ? 'warn' : 'ok'
  return {
    id: 'pressure:psi',
    check: 'pressure',
    status,
    title: status === 'ok' ? `Little memory pressure (some ${psi.some.avg60}% over the last minute)` : `Memory pressure: tasks stalled on memory ${psi.some.avg60}% of the last minute${full ? ` (all tasks ${fullAvg60}%)` : ''}`,
    evidence,
    why:
      status === 'ok'
        ? 'Tasks rarely wait for memory, so the kernel has no reason to evict warm models.'
        : 'Under pressure the kernel reclaims page cache, warm models included: what Hearth warmed is evicted and the next load reads from disk. Close programs, add RAM or swap, or lock the model you need.',
  }
}

async function refaultFinding(inputs: DoctorInputs): Promise<Finding> {
  const file = `${inputs.roots.proc}/vmstat`
  const read = async () => parseVmstat(await readFile(file, 'utf8'))
  let first: Map<string, number>
  try {
    first = await read()
  } catch (err) {
    const reason = readFailure(file, err)
    return { id: 'pressure:refaults', check: 'pressure', status: 'info', title: 'Workingset refaults: unknown', evidence: [unknownEv('refaults', reason, file)], why: 'Refaults count pages read again soon after eviction.', unknown: reason }
  }
  const key = refaultKey(first)
  if (!key || !Number.isFinite(first.get(key))) {
    const reason = `${file} has no workingset_refault_file (or workingset_refault) counter`
    return { id: 'pressure:refaults', check: 'pressure', status: 'info', title: 'Workingset refaults: unknown', evidence: [unknownEv('refaults', reason, file)], why: 'Refaults count pages read again soon after eviction.', unknown: reason }
  }
  // The telemetry ring holds an hour at 1 Hz while the app runs; otherwise measure one second now.
  const hist = inputs.memoryHistory().filter((s) => s.atMs > Date.now() - 3_600_000)
  let perSec: number
  let over: string
  if (hist.length >= 30) {
    perSec = hist.reduce((s, x) => s + x.refaultsPerSec, 0) / hist.length
    over = `mean over the last ${Math.round(hist.length / 60)} min`
  } else {
    const t0 = Date.now()
    await new Promise((r) => setTimeout(r, 1000))
    const second = await read().catch(() => first)
    perSec = Math.max(0, ((second.get(key) ?? 0) - (first.get(key) ?? 0)) / ((Date.now() - t0) / 1000))
    over = 'over one second now'
  }
  const pageBytes = 4096
  const status = perSec * pageBytes >= 50 << 20 ? 'warn' : 'ok'
  return {
    id: 'pressure:refaults',
    check: 'pressure',
    status,
    title: status === 'ok' ? `Few refaults (${perSec.toFixed(1)}/s ${over})` : `The page cache is thrashing: ${perSec.toFixed(0)} refaults/s (${formatBytes(perSec * pageBytes)}/s read again) ${over}`,
    evidence: [countEv(`${key} since boot`, first.get(key)!, file), { label: `refaults per second (${over})`, value: perSec.toFixed(1), amount: perSec, unit: 'count' }],
    why: 'A refault is a page read again soon after the kernel evicted it: many mean the cache is too small for what is in use, and warm models lose pages to other files.',
  }
}

const noticeBytes = 32 << 20

async function evictionFindings(inputs: DoctorInputs): Promise<Finding[]> {
  const since = inputs.history.startedAtMs()
  if (since === null) {
    return [{ id: 'pressure:evictions', check: 'pressure', status: 'info', title: 'Evictions per model: no residency history yet', evidence: [unknownEv('residency history', 'Hearth records residency while the app or `hearth serve` runs; this process has not been running')], why: 'With history Hearth can say how much of each model the kernel evicted in the last hour while nothing in Hearth asked for it.', unknown: 'no residency history in this process' }]
  }
  const out: Finding[] = []
  const minutes = Math.max(1, Math.round((Date.now() - Math.max(since, Date.now() - 3_600_000)) / 60_000))
  for (const id of inputs.modelsById.keys()) {
    const e = inputs.history.evictedSince(id)
    // The kernel drops a few MiB of any file now and then, pressure or not: that is not news.
    if (e.evictedBytes < Math.max(noticeBytes, 0.02 * inputs.modelBytes(id))) continue
    out.push({
      id: `pressure:evicted:${id}`,
      check: 'pressure',
      status: 'warn',
      title: `${inputs.modelName(id)}: ${formatBytes(e.evictedBytes)} evicted in the last ${minutes} min while nothing in Hearth asked for it`,
      evidence: [bytesEv('evicted by the kernel or other programs', e.evictedBytes), countEv('separate drops', e.drops), bytesEv('dropped by Hearth (evict, unstage)', e.byHearthBytes), ev('history since', new Date(e.sinceMs ?? since).toISOString())],
      why: 'Each evicted byte is read from disk again on the next load. Pin the model to have Hearth warm it again when it drops, or lock it to keep it.',
      fix: { label: 'Keep it warm (pin)', command: `hearth pin ${id}` },
      modelIds: [id],
    })
  }
  if (out.length === 0) {
    out.push({ id: 'pressure:evictions', check: 'pressure', status: 'ok', title: `No model lost pages in the last ${minutes} min except through Hearth`, evidence: [ev('models watched', plural(inputs.modelsById.size, 'model')), ev('history since', new Date(since).toISOString())], why: 'What was warm stayed warm.' })
  }
  return out
}

export const pressureCheck: Check = {
  id: 'pressure',
  async run(inputs) {
    const [psi, refaults, evictions] = await Promise.all([psiFinding(inputs), refaultFinding(inputs), evictionFindings(inputs)])
    return [psi, refaults, ...evictions]
  },
}
