// The residency service: per-file and per-model page-cache residency, heat strips, and the 1 Hz
// poll that pushes 'residency' to subscribers (only the models that changed).
import type { FileResidency, HeatStrip, ModelResidency, Model } from '../../../shared/api'
import type { CatalogService, ResidencyService, ResolvedFile } from '../../context'
import type { Hub } from '../../hub'
import { cachestatSyscallNumber } from '../../sys/cachestat'
import { hiddenResidencyReason } from '../../sys/mincore'
import { detectProbe, fileResidency, heatStrip, type ResidencyProbe } from './file-residency'
import { createHelperResidency, type HelperResidencyOptions, type ResidencyHelper } from './helper-residency'

export { goneReason } from './file-residency'
export type { ResidencyProbe } from './file-residency'

export interface ResidencyOptions {
  hub: Hub
  catalog: Pick<CatalogService, 'current'>
  /** Poll period; tests shorten it */
  intervalMs?: number
  /** Forces a probe (tests of the mincore fallback on a kernel that has cachestat) */
  method?: ResidencyProbe
  /** Files measured at once */
  concurrency?: number
  /**
   * The session's helper client: files whose residency the kernel hides from this user are
   * asked of it, but only while it already runs (never started for this)
   */
  helper?: ResidencyHelper
  helperResidency?: HelperResidencyOptions
}

export interface PagecacheResidencyService extends ResidencyService {
  /** How residency is measured here; settles on the first measurement */
  readonly method: ResidencyProbe
}

export function createResidencyService(opts: ResidencyOptions): PagecacheResidencyService {
  const { hub, catalog } = opts
  const intervalMs = opts.intervalMs ?? 1000
  const concurrency = opts.concurrency ?? 16
  // Until detection finishes, assume cachestat on the arches whose number is known.
  let method: ResidencyProbe = opts.method ?? (cachestatSyscallNumber() === null ? 'mincore' : 'cachestat')
  let detected: Promise<ResidencyProbe> | null = opts.method ? Promise.resolve(opts.method) : null
  const probe = () => (detected ??= detectProbe().then((m) => (method = m)))

  const viaHelper = opts.helper ? createHelperResidency(opts.helper, opts.helperResidency) : null

  /** fileResidency, with the helper's answer where the kernel hides the file's residency. */
  async function measure(path: string, p: ResidencyProbe): Promise<FileResidency> {
    const r = await fileResidency(path, p)
    if (!viaHelper || r.residentBytes !== null || r.unknownReason !== hiddenResidencyReason) return r
    const a = await viaHelper.residencyOf(path)
    if (!a) return r
    return { path, bytes: a.bytes, residentBytes: a.residentBytes, method: 'helper' }
  }

  async function ofFile(path: string): Promise<FileResidency> {
    return measure(path, await probe())
  }

  async function ofFiles(files: ResolvedFile[]): Promise<FileResidency[]> {
    const p = await probe()
    const out = new Array<FileResidency>(files.length)
    let next = 0
    const worker = async () => {
      for (let i = next++; i < files.length; i = next++) {
        const f = files[i]
        const r = await measure(f.path, p)
        // A vanished file keeps the size the catalog knew, so totals stay meaningful.
        if (r.residentBytes === null && r.bytes === 0) r.bytes = f.bytes
        if (f.modelId) r.modelId = f.modelId
        out[i] = r
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))
    return out
  }

  async function residencyOfModels(models: Model[]): Promise<ModelResidency[]> {
    const files = models.flatMap((m) => m.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: m.id })))
    const measured = await ofFiles(files)
    let at = 0
    return models.map((m) => {
      const own = measured.slice(at, (at += m.files.length))
      let residentBytes = 0
      let unknownBytes = 0
      let unknownReason: string | undefined
      for (const f of own) {
        if (f.residentBytes === null) {
          unknownBytes += f.bytes
          unknownReason ??= f.unknownReason
        } else residentBytes += f.residentBytes
      }
      const r: ModelResidency = { modelId: m.id, bytes: m.bytes, residentBytes, unknownBytes, files: own }
      if (unknownReason) r.unknownReason = unknownReason
      return r
    })
  }

  const ofModels = () => residencyOfModels(catalog.current().models)

  // What each model looked like at the last push; cleared when nobody listens, so the first push
  // to a new audience carries every model.
  let lastPushed = new Map<string, string>()
  let timer: NodeJS.Timeout | null = null
  let busy = false

  const fingerprint = (m: ModelResidency) =>
    JSON.stringify([m.bytes, m.residentBytes, m.unknownBytes, m.files.map((f) => [f.path, f.bytes, f.residentBytes])])

  async function tick(): Promise<void> {
    if (hub.listenerCount('residency') === 0) {
      lastPushed = new Map()
      return
    }
    if (busy) return // a slow share must not pile up overlapping polls
    busy = true
    try {
      const atMs = Date.now()
      const models = await ofModels()
      const seen = new Map<string, string>()
      const changed: ModelResidency[] = []
      for (const m of models) {
        const fp = fingerprint(m)
        seen.set(m.modelId, fp)
        if (lastPushed.get(m.modelId) !== fp) changed.push(m)
      }
      lastPushed = seen
      if (changed.length > 0) hub.publish('residency', { atMs, models: changed })
    } catch (err) {
      console.error('hearth: residency poll failed:', err)
    } finally {
      busy = false
    }
  }

  return {
    get method() {
      return method
    },
    ofFile,
    ofFiles,
    heatStrip: async (path: string, buckets: number): Promise<HeatStrip> => heatStrip(path, buckets, await probe()),
    ofModels,
    start() {
      if (timer) return
      timer = setInterval(() => void tick(), intervalMs)
      timer.unref() // the CLI must be able to exit with the service started
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = null
      lastPushed = new Map()
    },
  }
}
