// The Doctor service: runs the checks (one module each) into findings, keeps what the checks
// need over time (a residency history per model, measured device bandwidth, FS-Cache hit-rate
// samples), runs the 2-second read test as a job, and publishes every full run on the 'doctor'
// topic with the findings that are new since the run before (for notifications).
import { HearthError, type DoctorReport, type Finding, type FindingStatus, type HitRateSample, type InotifyStatus, type Job, type LoadTimes, type PrivilegeInfo, type ShareStatus } from '../../../shared/api'
import { formatBytes, formatRate } from '../../../shared/format'
import type { CatalogService, ResidencyService, TelemetryService } from '../../context'
import type { Hub } from '../../hub'
import type { Env } from '../../paths'
import type { SettingsStore } from '../../settings'
import { deviceKeyOf, type JobRunner } from '../jobs'
import { createBandwidthStore } from './bandwidth'
import { cgroupsCheck } from './check-cgroups'
import { inotifyCheck } from './check-inotify'
import { limitsCheck } from './check-limits'
import { pressureCheck } from './check-pressure'
import { processesCheck } from './check-processes'
import { runtimeSettingsCheck } from './check-runtime-settings'
import { sharesCheck } from './check-shares'
import { storageCheck } from './check-storage'
import { hitRateBetween, type CacheCounters } from './fscache'
import { createInputs, type DoctorRoots } from './inputs'
import { readTest as runReadTest } from './read-test'
import { createResidencyHistory } from './residency-history'
import { readCacheCounters, shareStatus as readShareStatus } from './shares'
import { unknownFinding, type Check } from './types'
import { createWarmRateRecorder } from './warm-rates'

export const checks: Check[] = [processesCheck, runtimeSettingsCheck, cgroupsCheck, pressureCheck, inotifyCheck, limitsCheck, storageCheck, sharesCheck]

export interface DoctorServiceDeps {
  hub: Hub
  env: Env
  settings: SettingsStore
  catalog: Pick<CatalogService, 'current' | 'resolve'>
  residency: Pick<ResidencyService, 'ofModels'>
  telemetry?: Pick<TelemetryService, 'history'>
  jobs: JobRunner
  /** The staging service's helper status and inotify reading */
  privilege(): PrivilegeInfo
  inotifyStatus(): Promise<InotifyStatus>
  /** Tests point these at recorded trees */
  roots?: Partial<DoctorRoots>
  /** How often a full run happens while started (default 5 min) */
  intervalMs?: number
}

const severity: Record<FindingStatus, number> = { fail: 0, warn: 1, info: 2, ok: 3 }

export type DoctorService = ReturnType<typeof createDoctorService>

export function createDoctorService(deps: DoctorServiceDeps) {
  const roots: DoctorRoots = { proc: '/proc', sys: '/sys', etc: '/etc', ...deps.roots }
  const bandwidth = createBandwidthStore(deps.settings)
  const history = createResidencyHistory()
  const hitRing: HitRateSample[] = []
  let last: DoctorReport | null = null
  /** Status of each finding id in the last full run */
  let baseline: Map<string, FindingStatus> | null = null
  const offs: (() => void)[] = []
  const timers: NodeJS.Timeout[] = []

  function inputs(modelIds?: string[]) {
    const all = deps.catalog.current().models
    const models = modelIds ? all.filter((m) => modelIds.includes(m.id)) : all
    return createInputs({
      roots,
      env: deps.env,
      selfPid: process.pid,
      models,
      residency: async () => (await deps.residency.ofModels()).filter((r) => !modelIds || modelIds.includes(r.modelId)),
      bandwidth,
      history,
      memoryHistory: () => deps.telemetry?.history() ?? [],
      helperAvailable: () => deps.privilege().available,
      helperReason: () => deps.privilege().reason,
      inotifyStatus: deps.inotifyStatus,
      hitRateRing: () => [...hitRing],
    })
  }

  async function modelIdOf(model: string): Promise<string> {
    const files = await deps.catalog.resolve([model])
    const ids = [...new Set(files.map((f) => f.modelId))]
    if (ids.length !== 1 || ids[0] === undefined) {
      throw new HearthError('BAD_INPUT', `doctor looks at one model from \`hearth models\` (an id or a unique part of its name), not "${model}"`)
    }
    return ids[0]
  }

  async function run(model?: string): Promise<DoctorReport> {
    const t0 = Date.now()
    const modelId = model ? await modelIdOf(model) : undefined
    const inp = inputs(modelId ? [modelId] : undefined)
    const results = await Promise.all(
      checks.map((c) =>
        c.run(inp).catch((err: unknown) => {
          // A check that throws is a bug; the run still reports everything else, and says so.
          const reason = `the ${c.id} check failed: ${err instanceof Error ? err.message : String(err)}`
          return [unknownFinding(`${c.id}:error`, c.id, `${c.id}: unknown`, reason, 'This check could not finish; the others are unaffected.')]
        }),
      ),
    )
    let findings = results.flat()
    if (modelId) findings = findings.filter((f) => !f.modelIds || f.modelIds.includes(modelId))
    findings.sort((a, b) => severity[a.status] - severity[b.status])
    const newSinceLastRun = findings.filter((f) => (f.status === 'fail' || f.status === 'warn') && (baseline === null || !baseline.has(f.id) || severity[baseline.get(f.id)!] > severity[f.status]))
    const report: DoctorReport = { atMs: t0, ms: Date.now() - t0, ...(modelId ? { modelId } : {}), findings, newSinceLastRun: modelId ? [] : newSinceLastRun }
    if (!modelId) {
      baseline = new Map(findings.map((f) => [f.id, f.status]))
      last = report
      deps.hub.publish('doctor', report)
    }
    return report
  }

  async function loadTimes(): Promise<LoadTimes> {
    return inputs().storage()
  }

  async function readTest(device: string): Promise<Job> {
    const s = await loadTimes()
    const d = s.devices.find((x) => x.key === device)
    const files = s.models.flatMap((m) => m.files.filter((f) => f.device === device))
    if (!d || files.length === 0) {
      throw new HearthError('NOT_FOUND', `no model file lives on "${device}"; the devices with models are: ${s.devices.map((x) => x.key).join(', ') || 'none'}`)
    }
    if (d.kind === 'ram') throw new HearthError('BAD_INPUT', `${d.name} is RAM: there is nothing to measure`)
    const file = files.reduce((a, b) => (b.bytes > a.bytes ? b : a))
    const handle = deps.jobs.run({
      kind: 'readtest',
      label: `read test of ${d.name}`,
      paths: [file.path],
      // Queued behind warms of the same disk, so two readers never share it during the test.
      device: await deviceKeyOf(file.path).catch(() => device),
      totalBytes: Math.min(file.bytes, 4 << 30),
      joinKey: `readtest:${device}`,
      work: async (progress, signal) => {
        const r = await runReadTest(file.path, { signal, onBytes: (n) => progress.add(n) })
        progress.setTotal(r.bytes)
        if (r.bytes < 8 << 20) throw new HearthError('IO', `the read test of ${d.name} read only ${formatBytes(r.bytes)}: too little to measure (the largest model file there, ${file.path}, is ${formatBytes(file.bytes)})`)
        const bytesPerSec = (r.bytes * 1000) / Math.max(1, r.ms)
        await bandwidth.record(device, { bytesPerSec, bytes: r.bytes, atMs: Date.now(), source: 'read-test' })
        return `read ${formatBytes(r.bytes)} of ${file.path} in ${(r.ms / 1000).toFixed(1)} s: ${formatRate(bytesPerSec)}${r.direct ? ' (O_DIRECT)' : ' (uncached ranges, dropped again after)'}`
      },
    })
    return handle.job
  }

  async function shareStatus(): Promise<ShareStatus> {
    return readShareStatus(inputs(), [...hitRing])
  }

  const warmRates = createWarmRateRecorder({ inputs: () => inputs(), procRoot: roots.proc, sysRoot: roots.sys, bandwidth })
  function onJob(job: Job): void {
    if (job.kind === 'evict' || job.kind === 'unstage') {
      if (job.modelId && job.startedAtMs !== null) history.noteHearthEviction(job.modelId, job.startedAtMs, job.endedAtMs)
      return
    }
    warmRates.onJob(job)
  }

  let lastCounters: CacheCounters | null = null
  async function sampleHitRate(): Promise<void> {
    const r = await readCacheCounters(roots.proc)
    if ('reason' in r) return
    if (lastCounters) {
      const d = hitRateBetween(lastCounters, r.counters)
      if (d) {
        hitRing.push({ atMs: Date.now(), ...d })
        if (hitRing.length > 360) hitRing.shift()
      }
    }
    lastCounters = r.counters
  }

  let stagedIds = new Set<string>()
  return {
    run,
    /** The last full report (null before the first) */
    last: () => last,
    /** warn/fail findings that were not in the run before the last one: for notifications */
    newFindings: (): Finding[] => last?.newSinceLastRun ?? [],
    loadTimes,
    readTest,
    shareStatus,
    history,
    bandwidth,
    start(): void {
      if (offs.length > 0) return
      offs.push(
        deps.hub.subscribe('residency', (u) => {
          for (const m of u.models) history.record(m.modelId, { atMs: u.atMs, bytes: m.bytes, residentBytes: m.residentBytes })
        }),
        deps.hub.subscribe('jobs', onJob),
        // Undoing a stage (off, unstage) swaps the RAM copy for the original: Hearth's doing.
        deps.hub.subscribe('staging', (s) => {
          const now = new Set(s.staged.map((f) => f.modelId).filter((x): x is string => Boolean(x)))
          for (const id of stagedIds) if (!now.has(id)) history.noteHearthEviction(id, Date.now() - 5000, Date.now())
          stagedIds = now
        }),
      )
      const every = deps.intervalMs ?? 300_000
      const first = setTimeout(() => void run().catch(() => undefined), Math.min(20_000, every))
      const periodic = setInterval(() => void run().catch(() => undefined), every)
      const hits = setInterval(() => void sampleHitRate(), 10_000)
      for (const t of [first, periodic, hits]) t.unref()
      timers.push(first, periodic, hits)
    },
    stop(): void {
      for (const off of offs.splice(0)) off()
      for (const t of timers.splice(0)) clearTimeout(t)
    },
  }
}
