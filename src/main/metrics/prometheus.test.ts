// The exporter's shape: Prometheus names and types, bounded labels, and who may scrape it.
import { afterAll, describe, expect, it } from 'vitest'
import { request as httpRequest } from 'node:http'
import { networkInterfaces } from 'node:os'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import type { HearthApi, Job } from '../../shared/api'
import { startServe, type RunningServer } from '../serve'
import { createMetrics, defaultMaxModelSeries, defaultMaxProcessSeries } from './prometheus'

const GiB = 1024 ** 3

/** A backend with `n` models (the i-th i MiB resident) and `procs` GPU processes. */
function fakeApi(n: number, procs = 2) {
  const models = Array.from({ length: n }, (_, i) => ({ id: `folder:m${i}-${'x'.repeat(8)}`, name: `Model ${i} ${'very long name '.repeat(30)}`, source: 'folder', format: 'gguf', bytes: GiB, files: [] }))
  let onJob: (j: Job) => void = () => {}
  const api = {
    catalog: async () => ({ models, skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }),
    modelResidency: async () => models.map((m, i) => ({ modelId: m.id, bytes: GiB, residentBytes: i * 1024 * 1024, unknownBytes: 0, files: i === 1 ? [{ path: '/x', bytes: GiB, residentBytes: 0, staged: true }] : [] })),
    locks: async () => [{ label: 'm2', modelId: models[2]?.id, paths: [], lockedBytes: GiB, files: [], sinceMs: 0, holder: 'hearth' }],
    pins: async () => [{ modelId: models[3]?.id }],
    memoryNow: async () => ({ memTotalBytes: 64 * GiB, memAvailableBytes: 40 * GiB, cachedBytes: 20 * GiB, mlockedBytes: GiB, psiSomeAvg10: 1.5, psiFullAvg10: null }),
    gpus: async () => ({
      atMs: 0,
      source: 'nvidia-smi',
      gpus: [
        {
          id: 'nvidia:0',
          vendor: 'nvidia',
          index: 0,
          name: 'NVIDIA H100 80GB HBM3',
          totalBytes: 80 * GiB,
          usedBytes: 30 * GiB,
          freeBytes: 50 * GiB,
          utilizationPercent: 3,
          processes: Array.from({ length: procs }, (_, i) => ({ pid: 1000 + i, name: 'llama-server', usedBytes: GiB, modelId: models[0]?.id })),
        },
      ],
    }),
    jobs: async () => [{ status: 'running' }, { status: 'queued' }, { status: 'queued' }, { status: 'done' }],
    stagingStatus: async () => ({ stagedBytes: 2 * GiB }),
    subscribe: (_t: string, l: (j: Job) => void) => ((onJob = l), () => (onJob = () => {})),
  }
  return { api: api as unknown as HearthApi, job: (j: Partial<Job>) => onJob(j as Job) }
}

type Family = ReturnType<typeof parsePrometheusTextFormat>[number]
async function scrape(api: HearthApi, opts?: Parameters<typeof createMetrics>[1]) {
  const m = createMetrics(api, opts)
  const families = parsePrometheusTextFormat(await m.render())
  m.close()
  const family = (name: string): Family => families.find((f) => f.name === name)!
  return { families, family, value: (name: string, labels: Record<string, string> = {}) => Number(family(name).metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))?.value) }
}

describe('Prometheus metrics', () => {
  it('follow the naming conventions: hearth_ prefix, base units, _total only on counters', async () => {
    const { families } = await scrape(fakeApi(5).api)
    expect(families.length).toBeGreaterThan(20)
    for (const f of families) {
      expect(f.name).toMatch(/^hearth_[a-z0-9_]+$/)
      expect(f.help.length).toBeGreaterThan(0)
      if (f.name.endsWith('_total')) expect(f.type).toBe('COUNTER')
      else expect(f.type).toBe('GAUGE')
      if (/bytes/.test(f.name)) expect(f.name).toMatch(/_bytes(_total)?$/)
    }
  })

  it('report per model resident bytes, size, staged, locked, pinned; memory, PSI, GPUs, jobs', async () => {
    const f = fakeApi(5)
    const m = createMetrics(f.api)
    f.job({ id: 'a', kind: 'warm', status: 'running', doneBytes: GiB })
    f.job({ id: 'a', kind: 'warm', status: 'done', doneBytes: 3 * GiB })
    f.job({ id: 'a', kind: 'warm', status: 'done', doneBytes: 3 * GiB }) // the final state twice: counted once
    f.job({ id: 'b', kind: 'rewarm', status: 'failed', doneBytes: 5 })
    const families = parsePrometheusTextFormat(await m.render())
    m.close()
    const v = (name: string, labels: Record<string, string> = {}) => Number(families.find((x) => x.name === name)!.metrics.find((x) => Object.entries(labels).every(([k, val]) => x.labels?.[k] === val))?.value)
    const id = (i: number) => `folder:m${i}-xxxxxxxx`
    expect(v('hearth_model_resident_bytes', { model: id(4), source: 'folder' })).toBe(4 * 1024 * 1024)
    expect(v('hearth_model_size_bytes', { model: id(4) })).toBe(GiB)
    expect(v('hearth_model_staged', { model: id(1) })).toBe(1)
    expect(v('hearth_model_staged', { model: id(0) })).toBe(0)
    expect(v('hearth_model_locked', { model: id(2) })).toBe(1)
    expect(v('hearth_model_pinned', { model: id(3) })).toBe(1)
    expect(v('hearth_page_cache_bytes')).toBe(20 * GiB)
    expect(v('hearth_memory_available_bytes')).toBe(40 * GiB)
    expect(v('hearth_memory_pressure_some_ratio', { window: '10s' })).toBeCloseTo(0.015)
    expect(families.find((x) => x.name === 'hearth_memory_pressure_full_ratio')?.metrics ?? []).toEqual([]) // PSI full unknown: no sample, not 0
    expect(v('hearth_gpu_memory_used_bytes', { gpu: '0', vendor: 'nvidia' })).toBe(30 * GiB)
    expect(v('hearth_gpu_memory_total_bytes', { gpu: '0' })).toBe(80 * GiB)
    expect(v('hearth_gpu_process_memory_bytes', { pid: '1000', process: 'llama-server', model: id(0) })).toBe(GiB)
    expect(v('hearth_jobs', { status: 'queued' })).toBe(2)
    expect(v('hearth_jobs', { status: 'running' })).toBe(1)
    expect(v('hearth_jobs_finished_total', { kind: 'warm', status: 'done' })).toBe(1)
    expect(v('hearth_jobs_finished_total', { kind: 'rewarm', status: 'failed' })).toBe(1)
    expect(v('hearth_warmed_bytes_total', { kind: 'warm' })).toBe(3 * GiB)
    expect(v('hearth_staged_bytes')).toBe(2 * GiB)
  })

  it(`keeps label cardinality bounded: 5000 models give ${defaultMaxModelSeries} model series, 500 GPU processes give ${defaultMaxProcessSeries}`, async () => {
    const { families, value, family } = await scrape(fakeApi(5000, 500).api)
    for (const name of ['hearth_model_resident_bytes', 'hearth_model_size_bytes', 'hearth_model_info', 'hearth_model_pinned']) {
      expect(family(name).metrics).toHaveLength(defaultMaxModelSeries)
    }
    expect(value('hearth_model_series_omitted')).toBe(5000 - defaultMaxModelSeries)
    expect(value('hearth_models')).toBe(5000)
    // the most resident models are the ones kept
    expect(family('hearth_model_resident_bytes').metrics.some((x) => x.labels!.model === 'folder:m4999-xxxxxxxx')).toBe(true)
    expect(family('hearth_model_resident_bytes').metrics.some((x) => x.labels!.model === 'folder:m0-xxxxxxxx')).toBe(false)
    expect(family('hearth_gpu_process_memory_bytes').metrics).toHaveLength(defaultMaxProcessSeries)
    expect(value('hearth_gpu_process_series_omitted')).toBe(500 - defaultMaxProcessSeries)
    // every series of the whole exposition, bounded, and no label value runs away
    const series = families.reduce((s, f) => s + f.metrics.length, 0)
    expect(series).toBeLessThan(defaultMaxModelSeries * 8 + defaultMaxProcessSeries + 100)
    for (const f of families) for (const x of f.metrics) for (const v of Object.values(x.labels ?? {})) expect(v.length).toBeLessThanOrEqual(200)
  })

  it('the cap is a setting', async () => {
    const { family, value } = await scrape(fakeApi(50).api, { maxModelSeries: 10 })
    expect(family('hearth_model_size_bytes').metrics).toHaveLength(10)
    expect(value('hearth_model_series_omitted')).toBe(40)
  })
})

const lanIp = Object.values(networkInterfaces())
  .flatMap((l) => l ?? [])
  .find((i) => i.family === 'IPv4' && !i.internal)?.address

describe('who may scrape /metrics', () => {
  const servers: RunningServer[] = []
  afterAll(async () => {
    for (const s of servers) await s.close()
  })
  async function serveMetrics(pub: boolean) {
    const m = createMetrics(fakeApi(3).api)
    const s = await startServe({ api: fakeApi(3).api, host: '0.0.0.0', port: 0, ui: false, metrics: { public: pub, render: async () => ({ contentType: m.contentType, body: await m.render() }) } })
    servers.push(s)
    return s
  }
  function get(from: string, port: number, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((ok, fail) => {
      const req = httpRequest({ host: from, localAddress: from, port, path: '/metrics', headers: { Host: `${from}:${port}`, ...headers } }, (res) => {
        res.resume()
        ok(res.statusCode ?? 0)
      })
      req.on('error', fail)
      req.end()
    })
  }

  it('loopback clients without the token', async () => {
    const s = await serveMetrics(false)
    expect(await get('127.0.0.1', s.port)).toBe(200)
  })

  it.skipIf(!lanIp)(`others only with the token, or when public${lanIp ? '' : ' (skipped: no non-loopback address here)'}`, async () => {
    const s = await serveMetrics(false)
    expect(await get(lanIp!, s.port)).toBe(401)
    expect(await get(lanIp!, s.port, { Authorization: `Bearer ${'0'.repeat(64)}` })).toBe(401)
    expect(await get(lanIp!, s.port, { Authorization: `Bearer ${s.token}` })).toBe(200)
    const open = await serveMetrics(true)
    expect(await get(lanIp!, open.port)).toBe(200)
  })

  it('a metrics-only server serves nothing else', async () => {
    const s = await serveMetrics(false)
    const status = await new Promise<number>((ok, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port: s.port, path: '/', headers: { Host: `127.0.0.1:${s.port}` } }, (res) => {
        res.resume()
        ok(res.statusCode ?? 0)
      })
      req.on('error', fail)
      req.end()
    })
    expect(status).toBe(404)
  })
})
