// GPU telemetry: NVML, else nvidia-smi, plus AMD/Intel through DRM; per-process attribution to
// model files; a 1 Hz 'gpu' stream while anyone listens, and an hour of history.
import type { GpuDevice, GpuSample } from '../../../shared/api'
import type { CatalogService } from '../../context'
import type { Hub } from '../../hub'
import { readNvml, nvmlUnavailableReason } from './nvml'
import { readNvidiaSmi } from './nvidia-smi'
import { readDrm } from './drm'
import { readFile } from 'node:fs/promises'
import { attributeProcess, indexFiles, type ModelFileKey } from './attribution'

/** What the GPU panel adds to "No GPU found"; the planner's own error says it for its caller. */
export const plannerStillWorks = ' The planner still works: pick a card or enter its VRAM.'

export interface GpuService {
  now(): Promise<GpuSample>
  history(sinceMs?: number): GpuSample[]
  /** Starts the 1 Hz poll; it samples only while the 'gpu' topic has listeners. */
  start(): void
  stop(): void
}

export interface GpuSources {
  nvml?: () => GpuDevice[] | null
  nvidiaSmi?: () => Promise<GpuDevice[] | null>
  drm?: () => Promise<GpuDevice[]>
  proc?: string
}

const historyLength = 3600

export function createGpuService(deps: { hub: Hub; catalog?: CatalogService; sources?: GpuSources }): GpuService {
  const src = deps.sources ?? {}
  const ring: GpuSample[] = []
  let timer: NodeJS.Timeout | null = null
  let busy = false
  let smiMissing = false
  let known: { at: number; map: Map<string, ModelFileKey> } | null = null

  async function knownFiles(): Promise<Map<string, ModelFileKey>> {
    const cat = deps.catalog?.current()
    const at = cat?.scannedAtMs ?? 0
    if (known && known.at === at) return known.map
    const files: ModelFileKey[] = []
    for (const m of cat?.models ?? []) for (const f of m.files) files.push({ path: f.path, modelId: m.id })
    known = { at, map: await indexFiles(files) }
    return known.map
  }

  async function sample(): Promise<GpuSample> {
    const atMs = Date.now()
    let source: GpuSample['source'] = 'none'
    let gpus: GpuDevice[] = []
    const reasons: string[] = []
    let nv: GpuDevice[] | null = null
    try {
      nv = (src.nvml ?? readNvml)()
    } catch (err) {
      reasons.push(`NVML failed: ${(err as Error).message}`)
    }
    if (nv) source = 'nvml'
    else {
      if (nvmlUnavailableReason()) reasons.push(nvmlUnavailableReason())
      if (!smiMissing) {
        nv = await (src.nvidiaSmi ?? readNvidiaSmi)()
        if (nv) source = 'nvidia-smi'
        // A missing nvidia-smi stays missing; do not fork it every second.
        else smiMissing = true
      }
      if (!nv) reasons.push('nvidia-smi not found or failed')
    }
    if (nv) gpus.push(...nv)
    const drm = await (src.drm ?? (() => readDrm()))().catch(() => [] as GpuDevice[])
    if (drm.length) {
      gpus.push(...drm)
      if (source === 'none') source = 'sysfs'
    } else reasons.push('no AMD or Intel card under /sys/class/drm')
    const map = await knownFiles()
    for (const g of gpus) {
      for (const p of g.processes) {
        Object.assign(p, await attributeProcess(p.pid, map, src.proc))
        if (!p.name) p.name = await readFile(`/proc/${p.pid}/comm`, 'utf8').then((s) => s.trim()).catch(() => `pid ${p.pid}`)
      }
    }
    gpus = gpus.sort((a, b) => a.id.localeCompare(b.id))
    const out: GpuSample = { atMs, source, gpus }
    if (!gpus.length) out.noGpuReason = `No GPU found: ${reasons.join('; ')}.${plannerStillWorks}`
    return out
  }

  async function tick() {
    if (busy || deps.hub.listenerCount('gpu') === 0) return
    busy = true
    try {
      const s = await sample()
      ring.push(s)
      if (ring.length > historyLength) ring.splice(0, ring.length - historyLength)
      deps.hub.publish('gpu', s)
    } catch (err) {
      console.error('hearth: gpu sample failed:', err)
    } finally {
      busy = false
    }
  }

  return {
    now: sample,
    history: (sinceMs = 0) => ring.filter((s) => s.atMs >= sinceMs),
    start() {
      if (timer) return
      timer = setInterval(() => void tick(), 1000)
      timer.unref()
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}
