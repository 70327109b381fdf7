// Prometheus exposition of what Hearth knows, through prom-client (the Node exporter engine
// Prometheus' own docs list), for `hearth serve --metrics` and `hearth daemon --metrics`. Every
// scrape asks the backend through the contract, so it works the same on a backend of one's own
// and on the daemon's. Labels are bounded: at most maxModelSeries models (the most resident
// first) and maxProcessSeries GPU processes get series; the rest are counted, never labelled.
import { Counter, Gauge, Registry } from 'prom-client'
import type { HearthApi, Job } from '../../shared/api'

export interface MetricsOptions {
  /** Models with their own series (default 500); documented in the README */
  maxModelSeries?: number
  /** GPU processes with their own series (default 64) */
  maxProcessSeries?: number
}

export const defaultMaxModelSeries = 500
export const defaultMaxProcessSeries = 64
const maxLabelChars = 200

/** A label value kept short: names come from files and processes, not from us. */
function label(v: string | number | undefined | null): string {
  const s = v === undefined || v === null ? '' : String(v)
  return s.length > maxLabelChars ? `${s.slice(0, maxLabelChars - 1)}…` : s
}

export interface Metrics {
  contentType: string
  /** One scrape: reads the backend, renders the text format */
  render(): Promise<string>
  close(): void
}

export function createMetrics(api: HearthApi, opts: MetricsOptions = {}): Metrics {
  const maxModels = opts.maxModelSeries ?? defaultMaxModelSeries
  const maxProcs = opts.maxProcessSeries ?? defaultMaxProcessSeries
  const registry = new Registry()
  const g = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers: [registry] })
  const c = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers: [registry] })

  const m = ['model', 'source'] as const
  const modelInfo = g('hearth_model_info', 'A model Hearth found (1), with its display name and format', ['model', 'source', 'name', 'format'])
  const modelBytes = g('hearth_model_size_bytes', 'Size of the model on disk', m)
  const modelResident = g('hearth_model_resident_bytes', 'Bytes of the model in the page cache (files whose residency is known)', m)
  const modelUnknown = g('hearth_model_residency_unknown_bytes', 'Bytes of the model whose residency the kernel does not tell this user', m)
  const modelStaged = g('hearth_model_staged', '1 when a RAM-disk copy is mounted over one of its files', m)
  const modelLocked = g('hearth_model_locked', '1 when Hearth holds it locked in RAM (mlock)', m)
  const modelPinned = g('hearth_model_pinned', '1 when pinned (kept warm)', m)
  const models = g('hearth_models', 'Models Hearth found')
  const modelsBytes = g('hearth_models_size_bytes', 'Size of all models on disk')
  const modelsResident = g('hearth_models_resident_bytes', 'Bytes of all models in the page cache')
  const omitted = g('hearth_model_series_omitted', `Models without per-model series (beyond the cap of ${maxModels}, least resident first)`)
  const lockedBytes = g('hearth_locked_bytes', 'Bytes Hearth holds locked in RAM')
  const stagedBytes = g('hearth_staged_bytes', 'Bytes of RAM-disk copies mounted over model files')
  const memTotal = g('hearth_memory_total_bytes', 'MemTotal')
  const memAvailable = g('hearth_memory_available_bytes', 'MemAvailable')
  const pageCache = g('hearth_page_cache_bytes', 'Cached (page cache, including tmpfs)')
  const mlocked = g('hearth_memory_mlocked_bytes', 'Mlocked, all processes')
  // Labelled by window so that an unknown value is no series at all (an unlabelled gauge reads 0).
  const psiSome = g('hearth_memory_pressure_some_ratio', 'PSI memory "some" as a ratio 0..1 (absent where PSI is off)', ['window'])
  const psiFull = g('hearth_memory_pressure_full_ratio', 'PSI memory "full" as a ratio 0..1 (absent where PSI is off)', ['window'])
  const gpuLabels = ['gpu', 'vendor', 'name'] as const
  const gpuTotal = g('hearth_gpu_memory_total_bytes', 'GPU memory', gpuLabels)
  const gpuUsed = g('hearth_gpu_memory_used_bytes', 'GPU memory in use', gpuLabels)
  const gpuProc = g('hearth_gpu_process_memory_bytes', 'GPU memory of one process, with the model file it holds', ['gpu', 'pid', 'process', 'model'])
  const gpuProcOmitted = g('hearth_gpu_process_series_omitted', `GPU processes without their own series (beyond the cap of ${maxProcs})`)
  const jobs = g('hearth_jobs', 'Jobs now, by status', ['status'])
  const jobsEnded = c('hearth_jobs_finished_total', 'Jobs that ended since this exporter started', ['kind', 'status'])
  const warmed = c('hearth_warmed_bytes_total', 'Bytes read into the page cache by warm and keep-warm jobs since this exporter started', ['kind'])

  // Counters count what this process saw end (a Prometheus counter may start at 0 on restart).
  const seen = new Set<string>()
  for (const status of ['done', 'failed', 'cancelled']) for (const kind of ['warm', 'rewarm', 'evict', 'lock', 'stage', 'unstage']) jobsEnded.labels(kind, status).inc(0)
  for (const kind of ['warm', 'rewarm']) warmed.labels(kind).inc(0)
  const off = api.subscribe('jobs', (j: Job) => {
    if ((j.status !== 'done' && j.status !== 'failed' && j.status !== 'cancelled') || seen.has(j.id)) return
    seen.add(j.id)
    if (seen.size > 10_000) seen.delete(seen.values().next().value!)
    jobsEnded.labels(j.kind, j.status).inc()
    if (j.kind === 'warm' || j.kind === 'rewarm') warmed.labels(j.kind).inc(j.doneBytes)
  })

  async function collect(): Promise<void> {
    const [catalog, residency, locks, pins, mem, gpus, jobList, staging] = await Promise.all([
      api.catalog(),
      api.modelResidency(),
      api.locks(),
      api.pins(),
      api.memoryNow(),
      api.gpus(),
      api.jobs(),
      api.stagingStatus(),
    ])
    for (const x of [modelInfo, modelBytes, modelResident, modelUnknown, modelStaged, modelLocked, modelPinned, gpuTotal, gpuUsed, gpuProc, jobs, psiSome, psiFull]) x.reset()

    const res = new Map(residency.map((r) => [r.modelId, r]))
    const locked = new Set(locks.map((l) => l.modelId).filter(Boolean))
    const pinned = new Set(pins.map((p) => p.modelId))
    const byInterest = [...catalog.models].sort(
      (a, b) => (res.get(b.id)?.residentBytes ?? 0) - (res.get(a.id)?.residentBytes ?? 0) || b.bytes - a.bytes || a.id.localeCompare(b.id),
    )
    for (const model of byInterest.slice(0, maxModels)) {
      const r = res.get(model.id)
      const l = { model: label(model.id), source: model.source }
      modelInfo.labels({ ...l, name: label(model.name), format: model.format }).set(1)
      modelBytes.labels(l).set(model.bytes)
      modelResident.labels(l).set(r?.residentBytes ?? 0)
      modelUnknown.labels(l).set(r?.unknownBytes ?? 0)
      modelStaged.labels(l).set(r?.files.some((f) => f.staged) ? 1 : 0)
      modelLocked.labels(l).set(locked.has(model.id) ? 1 : 0)
      modelPinned.labels(l).set(pinned.has(model.id) ? 1 : 0)
    }
    omitted.set(Math.max(0, byInterest.length - maxModels))
    models.set(catalog.models.length)
    modelsBytes.set(catalog.models.reduce((s, x) => s + x.bytes, 0))
    modelsResident.set(residency.reduce((s, r) => s + r.residentBytes, 0))
    lockedBytes.set(locks.reduce((s, l) => s + l.lockedBytes, 0))
    stagedBytes.set(staging.stagedBytes)

    memTotal.set(mem.memTotalBytes)
    memAvailable.set(mem.memAvailableBytes)
    pageCache.set(mem.cachedBytes)
    mlocked.set(mem.mlockedBytes)
    if (mem.psiSomeAvg10 !== null) psiSome.labels('10s').set(mem.psiSomeAvg10 / 100)
    if (mem.psiFullAvg10 !== null) psiFull.labels('10s').set(mem.psiFullAvg10 / 100)

    let procs = 0
    for (const d of gpus.gpus) {
      const l = { gpu: String(d.index), vendor: d.vendor, name: label(d.name) }
      if (d.totalBytes !== null) gpuTotal.labels(l).set(d.totalBytes)
      if (d.usedBytes !== null) gpuUsed.labels(l).set(d.usedBytes)
      for (const p of d.processes) {
        if (p.usedBytes === null) continue
        if (++procs > maxProcs) continue
        gpuProc.labels({ gpu: String(d.index), pid: String(p.pid), process: label(p.name), model: label(p.modelId ?? p.modelPath ?? '') }).set(p.usedBytes)
      }
    }
    gpuProcOmitted.set(Math.max(0, procs - maxProcs))

    for (const status of ['queued', 'running'] as const) jobs.labels(status).set(jobList.filter((j) => j.status === status).length)
  }

  return {
    contentType: registry.contentType,
    async render() {
      await collect()
      return registry.metrics()
    },
    close: off,
  }
}
