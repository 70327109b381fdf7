// The tensors service: the tensor map of a GGUF model and this session's load-order recordings.
import { readdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Recording, RecordingLine, RecordingStatus, TensorMap } from '../../../shared/contract/tensors'
import { HearthError } from '../../../shared/errors'
import type { CatalogService } from '../../context'
import type { Hub } from '../../hub'
import { detectProbe, type ResidencyProbe } from '../pagecache/file-residency'
import { tensorLayout, type TensorLayout } from './layout'
import { measureTensorMap } from './measure'
import { startRecorder, type Recorder } from './recorder'

export { tensorLayout, type TensorLayout } from './layout'
export { measureTensorMap } from './measure'
export { startRecorder, type Recorder, type RecorderOptions } from './recorder'

export interface RecordRequest {
  target: string
  hz?: number
  seconds?: number
  pid?: number
  /** Ends with reason 'limit' after this many samples (default: a day's worth) */
  maxSamples?: number
}

/** Recordings kept in the app's memory stop after an hour unless asked for longer (about 35 MB). */
const inAppHours = 1

export interface TensorsService {
  tensorMap(target: string, experts?: boolean): Promise<TensorMap>
  startRecording(req: RecordRequest): Promise<RecordingStatus>
  stopRecording(id: string): Promise<RecordingStatus>
  recordings(): RecordingStatus[]
  recording(id: string): Recording
  /**
   * Records with every line handed to onLine as it happens (the CLI writes them to a file);
   * resolves the recorder once started.
   */
  record(req: RecordRequest, onLine: (line: RecordingLine) => void): Promise<Recorder>
  stop(): Promise<void>
}

export interface ModelTarget {
  name: string
  modelId?: string
  /** GGUF weight files in shard order */
  paths: string[]
}

const splitRe = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i

/** All shards of a split GGUF that sit beside `path` (just the file when it is not a shard). */
async function shardsBeside(path: string): Promise<string[]> {
  const m = splitRe.exec(basename(path))
  if (!m) return [path]
  const want = Number(m[3])
  const names = await readdir(dirname(path)).catch(() => [] as string[])
  const shards = names.filter((n) => splitRe.exec(n)?.[1] === m[1] && Number(splitRe.exec(n)?.[3]) === want).sort()
  return shards.length > 0 ? shards.map((n) => join(dirname(path), n)) : [path]
}

/** A model id, name fragment or path → its GGUF weight files (projectors and adapters left out). */
export async function modelTargetOf(catalog: Pick<CatalogService, 'current' | 'resolve'>, target: string): Promise<ModelTarget> {
  const files = await catalog.resolve([target])
  const modelId = files[0]?.modelId
  const model = modelId ? catalog.current().models.find((m) => m.id === modelId) : undefined
  if (model) {
    // By role, not extension: Ollama's GGUF blobs are named sha256-….
    const weights = model.format === 'gguf' ? model.files.filter((f) => f.role === 'weights').map((f) => f.path) : []
    if (weights.length === 0) {
      throw new HearthError('BAD_INPUT', `${model.name} is a ${model.format} model; the tensor map and the recorder read GGUF files (pick a GGUF model from \`hearth models\`)`)
    }
    return { name: model.name, modelId: model.id, paths: weights }
  }
  const path = files[0]?.path
  if (!path) throw new HearthError('NOT_FOUND', `${target}: no such model or file; see \`hearth models\``)
  return { name: basename(path).replace(/\.gguf$/i, ''), paths: await shardsBeside(path) }
}

/** The catalog's name for a catalog model; else the GGUF's general.name; else the file name. */
const nameOf = (t: ModelTarget, layout: TensorLayout) => (t.modelId ? t.name : (layout.modelName ?? t.name))

interface Entry {
  status: RecordingStatus
  rec: Recording
  recorder: Recorder | null
}

const keepFinished = 20

export function createTensorsService(opts: { hub: Hub; catalog: Pick<CatalogService, 'current' | 'resolve'>; probe?: ResidencyProbe }): TensorsService {
  const { hub, catalog } = opts
  let probe: Promise<ResidencyProbe> | null = opts.probe ? Promise.resolve(opts.probe) : null
  const probeOf = () => (probe ??= detectProbe())
  const entries = new Map<string, Entry>()
  let seq = 0

  async function record(req: RecordRequest, onLine: (line: RecordingLine) => void): Promise<Recorder> {
    const target = await modelTargetOf(catalog, req.target)
    const layout = await tensorLayout(target.paths)
    return startRecorder({ layout, name: nameOf(target, layout), modelId: target.modelId, hz: req.hz ?? 10, seconds: req.seconds, pid: req.pid, maxSamples: req.maxSamples, probe: await probeOf(), onLine })
  }

  /** The status with the running recorder's counters brought up to date. */
  function current(e: Entry): RecordingStatus {
    if (e.recorder) {
      const p = e.recorder.progress()
      Object.assign(e.status, { ...p, elapsedMs: Math.round(p.elapsedMs) })
    }
    return { ...e.status }
  }
  const publish = (e: Entry) => hub.publish('recordings', current(e))

  function prune(): void {
    const finished = [...entries.values()].filter((e) => e.status.state !== 'recording')
    for (const e of finished.slice(0, Math.max(0, finished.length - keepFinished))) entries.delete(e.status.id)
  }

  function get(id: string): Entry {
    const e = entries.get(id)
    if (!e) throw new HearthError('NOT_FOUND', `no recording ${id} in this session; see recordings()`)
    return e
  }

  return {
    async tensorMap(target, experts) {
      const t = await modelTargetOf(catalog, target)
      const layout = await tensorLayout(t.paths)
      return measureTensorMap(layout, await probeOf(), { name: nameOf(t, layout), modelId: t.modelId, experts })
    },
    async startRecording(req) {
      const id = `rec-${Date.now().toString(36)}-${++seq}`
      // Lines come before the entry exists (header, initial) and after (samples, end).
      const live: { entry?: Entry; pulse?: NodeJS.Timeout; pending: RecordingLine[] } = { pending: [] }
      const onLine = (line: RecordingLine) => {
        const entry = live.entry
        if (!entry) return void live.pending.push(line)
        if (line.type === 'sample') entry.rec.samples.push(line)
        else if (line.type === 'end') {
          entry.rec.end = line
          entry.status.state = line.reason === 'error' ? 'failed' : 'done'
          entry.status.reason = line.reason
          if (line.note) entry.status.note = line.note
          current(entry) // the final counters, before the recorder is let go
          entry.recorder = null
          publish(entry)
          clearInterval(live.pulse)
          prune()
        }
      }
      const hz = req.hz ?? 10
      const recorder = await record({ ...req, maxSamples: Math.ceil(hz * Math.max(req.seconds ?? 0, inAppHours * 3600)) + 1 }, onLine)
      const h = recorder.header
      const initial = live.pending.find((l) => l.type === 'initial')
      const entry: Entry = {
        recorder,
        rec: { header: h, initial: initial?.type === 'initial' ? initial : { type: 'initial', resident: [] }, samples: [] },
        status: {
          id,
          name: h.name,
          state: 'recording',
          hz: h.hz,
          method: h.method,
          startedAtMs: h.startedAtMs,
          elapsedMs: 0,
          samples: 0,
          addedBytes: 0,
          residentBytes: 0,
          totalBytes: 0,
          ...(h.modelId ? { modelId: h.modelId } : {}),
          ...(h.pid ? { pid: h.pid } : {}),
        },
      }
      live.entry = entry
      entries.set(id, entry)
      for (const l of live.pending) if (l.type !== 'header' && l.type !== 'initial') onLine(l)
      // Status twice a second while it runs: enough for a counter, cheap for the socket.
      live.pulse = setInterval(() => entry.recorder && publish(entry), 500)
      live.pulse.unref()
      publish(entry)
      return { ...entry.status }
    },
    async stopRecording(id) {
      const e = get(id)
      const r = e.recorder
      if (r) {
        r.stop()
        await r.done
      }
      return { ...e.status }
    },
    recordings: () => [...entries.values()].map(current).sort((a, b) => b.startedAtMs - a.startedAtMs),
    recording(id) {
      const { rec } = get(id)
      return { header: rec.header, initial: rec.initial, samples: [...rec.samples], ...(rec.end ? { end: rec.end } : {}) }
    },
    record,
    async stop() {
      const running = [...entries.values()].flatMap((e) => (e.recorder ? [e.recorder] : []))
      for (const r of running) r.stop()
      await Promise.all(running.map((r) => r.done))
    },
  }
}
