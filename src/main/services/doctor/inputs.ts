// What the checks look at, read once per run and shared: the catalog's model files (by device +
// inode), the processes that hold them or are model runtimes, mounts, meminfo, residency. Every
// reader is lazy (a check that does not need processes does not pay for the scan) and turns
// missing or malformed files into reasons, never exceptions.
import { readFile, realpath, stat } from 'node:fs/promises'
import type { HitRateSample, InotifyStatus, LoadTimes, MemorySample, Model, ModelFileDevice, ModelResidency, StorageDevice } from '../../../shared/api'
import { estimateLoad, type LoadEstimate } from '../../../shared/doctor/load-time'
import type { Env } from '../../paths'
import { homeDir } from '../../paths'
import { parseMeminfo } from '../telemetry/proc-parsers'
import { O_DIRECT, procReaders, readFailure, scanProcesses, unknown, type Limit, type ProcInfo, type ProcStatus, type Read } from '../procs'
import type { BandwidthStore } from './bandwidth'
import { parseMountinfo, type MountEntry } from './mountinfo'
import type { ResidencyHistory } from './residency-history'
import { classifyProcess, parseLlamaArgs, type LlamaArgs, type Runtime } from './runtimes'
import { createPlaceFinder, type DevicePlace } from './storage-map'

export interface DoctorRoots {
  proc: string
  sys: string
  etc: string
}

export interface ModelFileInfo {
  modelId: string
  path: string
  bytes: number
  dev: number | null
  ino: number | null
  unknown?: string
}

export interface HeldFile {
  modelId: string
  path: string
  /** fd: an open descriptor; map: a mapping; argv: named on the command line only */
  via: 'fd' | 'map' | 'argv'
  fd?: number
  /** Open flags from fdinfo (octal in the file) */
  flags?: number
  direct?: boolean
  /** Why the flags are unknown */
  flagsUnknown?: string
  mappedBytes?: number
  /** The fd points at this path but at another inode: opened before a stage (or the file was replaced) */
  staleInode?: boolean
}

export interface ModelProcess {
  pid: number
  comm: string
  argv: string[]
  runtime: Runtime | null
  /** Set when /proc/PID/fd or maps was refused */
  deniedReason?: string
  files: HeldFile[]
  status: Read<ProcStatus>
  limits: Read<Map<string, Limit>>
  /** llama.cpp's loading flags, for llama.cpp processes */
  llama?: LlamaArgs
}

export interface DoctorDeps {
  roots: DoctorRoots
  env: Env
  selfPid: number
  models: Model[]
  residency(): Promise<ModelResidency[]>
  bandwidth: BandwidthStore
  history: ResidencyHistory
  memoryHistory(): MemorySample[]
  helperAvailable(): boolean
  helperReason(): string | undefined
  inotifyStatus(): Promise<InotifyStatus>
  /** FS-Cache hit-rate samples the service took while running */
  hitRateRing(): HitRateSample[]
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null
  return () => (p ??= fn())
}

/** Processes of Hearth itself hold models on purpose (locks): they are not loaders. */
const hearthComms = new Set(['hearth-helper'])

export function createInputs(deps: DoctorDeps) {
  const { roots } = deps
  const proc = procReaders(roots.proc)
  const modelsById = new Map(deps.models.map((m) => [m.id, m]))

  const modelFiles = once(async (): Promise<ModelFileInfo[]> =>
    Promise.all(
      deps.models.flatMap((m) =>
        m.files.map(async (f) => {
          try {
            const st = await stat(f.path)
            return { modelId: m.id, path: f.path, bytes: st.size, dev: st.dev, ino: st.ino }
          } catch (err) {
            return { modelId: m.id, path: f.path, bytes: f.bytes, dev: null, ino: null, unknown: readFailure(f.path, err) }
          }
        }),
      ),
    ),
  )

  const rawProcesses = once(() => scanProcesses({ procRoot: roots.proc, selfPid: deps.selfPid, fdTargets: true, fdIds: true, maps: true }))

  const processes = once(async (): Promise<ModelProcess[]> => {
    const files = await modelFiles()
    const byId = new Map(files.filter((f) => f.dev !== null).map((f) => [`${f.dev}:${f.ino}`, f]))
    const byPath = new Map<string, ModelFileInfo>()
    for (const f of files) {
      byPath.set(f.path, f)
      const real = await realpath(f.path).catch(() => null)
      if (real) byPath.set(real, f)
    }
    const out: ModelProcess[] = []
    for (const p of await rawProcesses()) {
      if (hearthComms.has(p.comm)) continue
      const held = matchHeld(p, byId, byPath)
      const cmd = await proc.cmdline(p.pid)
      const argv = cmd.ok ? cmd.value : []
      const runtime = classifyProcess(p.comm, argv)
      const llama = runtime?.kind === 'llama.cpp' ? parseLlamaArgs(argv) : undefined
      for (const a of argv) {
        const f = byPath.get(a)
        if (f && !held.some((h) => h.path === f.path)) held.push({ modelId: f.modelId, path: f.path, via: 'argv' })
      }
      const denied = p.fdsDenied ?? p.mapsDenied
      // Plain Python processes count only when they hold a model; named runtimes always.
      if (held.length === 0 && (!runtime || runtime.kind === 'python')) continue
      for (const h of held) {
        if (h.via !== 'fd' || h.fd === undefined) continue
        const info = await proc.fdinfo(p.pid, h.fd)
        if (info.ok) {
          h.flags = info.value.flags
          h.direct = (info.value.flags & O_DIRECT) !== 0
        } else h.flagsUnknown = info.reason
      }
      out.push({
        pid: p.pid,
        comm: p.comm,
        argv,
        runtime,
        ...(denied ? { deniedReason: `${roots.proc}/${p.pid}/${p.fdsDenied ? 'fd' : 'maps'}: ${denied}` } : {}),
        files: held,
        status: await proc.status(p.pid),
        limits: await proc.limits(p.pid),
        ...(llama ? { llama } : {}),
      })
    }
    return out
  })

  const mounts = once(async (): Promise<Read<MountEntry[]>> => {
    const file = `${roots.proc}/self/mountinfo`
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      return unknown(readFailure(file, err))
    }
    const { mounts: list, malformed } = parseMountinfo(text)
    if (list.length === 0) return unknown(`${file} has no well-formed line${malformed ? ` (${malformed} malformed)` : ''}`)
    return { ok: true, value: list }
  })

  /** Where each model file lives (by path). */
  const places = once(async (): Promise<Map<string, DevicePlace | { unknown: string }>> => {
    const m = await mounts()
    const out = new Map<string, DevicePlace | { unknown: string }>()
    if (!m.ok) {
      for (const f of await modelFiles()) out.set(f.path, { unknown: m.reason })
      return out
    }
    const find = createPlaceFinder(m.value, roots.sys)
    for (const f of await modelFiles()) out.set(f.path, await find(f.path))
    return out
  })

  /** Devices with their measured bandwidth, and each model's files on them (what loadTimes returns). */
  const storage = once(async (): Promise<LoadTimes> => {
    const placed = await places()
    const devices = new Map<string, StorageDevice>()
    const models = new Map<string, ModelFileDevice[]>()
    for (const f of await modelFiles()) {
      const p = placed.get(f.path)
      const key = p && 'key' in p ? p.key : null
      if (p && 'key' in p && !devices.has(p.key)) {
        const { unknown: _u, ...place } = p
        devices.set(p.key, { ...place, bytesPerSec: deps.bandwidth.estimate(p.key), samples: deps.bandwidth.samples(p.key) })
      }
      let list = models.get(f.modelId)
      if (!list) models.set(f.modelId, (list = []))
      list.push({ path: f.path, bytes: f.bytes, device: key })
    }
    return { devices: [...devices.values()], models: [...models].map(([modelId, files]) => ({ modelId, files })) }
  })

  /** The load-time estimate of one model now. */
  async function loadOf(modelId: string): Promise<LoadEstimate> {
    const s = await storage()
    const files = s.models.find((m) => m.modelId === modelId)?.files ?? []
    const res = (await residencyOnce()).find((r) => r.modelId === modelId)
    return estimateLoad(files, res, new Map(s.devices.map((d) => [d.key, d])))
  }

  const residencyOnce = once(() => deps.residency())

  const meminfo = once(async (): Promise<Read<Map<string, number>>> => {
    const file = `${roots.proc}/meminfo`
    try {
      const m = parseMeminfo(await readFile(file, 'utf8'))
      return m.has('MemTotal') ? { ok: true, value: m } : unknown(`${file} has no MemTotal line (malformed)`)
    } catch (err) {
      return unknown(readFailure(file, err))
    }
  })

  return {
    ...deps,
    proc,
    modelsById,
    modelName: (id: string) => modelsById.get(id)?.name ?? id,
    modelBytes: (id: string) => modelsById.get(id)?.bytes ?? 0,
    home: homeDir(deps.env),
    modelFiles,
    rawProcesses,
    processes,
    mounts,
    places,
    meminfo,
    residency: residencyOnce,
    storage,
    loadOf,
    inotifyStatus: once(() => deps.inotifyStatus()),
  }
}

export type DoctorInputs = ReturnType<typeof createInputs>

function matchHeld(p: ProcInfo, byId: Map<string, ModelFileInfo>, byPath: Map<string, ModelFileInfo>): HeldFile[] {
  const held: HeldFile[] = []
  for (const fd of p.fds ?? []) {
    const f = fd.dev !== undefined ? byId.get(`${fd.dev}:${fd.ino}`) : undefined
    if (f) {
      held.push({ modelId: f.modelId, path: f.path, via: 'fd', fd: fd.fd })
      continue
    }
    const target = fd.target?.replace(/ \(deleted\)$/, '')
    const byName = target ? byPath.get(target) : undefined
    if (byName) held.push({ modelId: byName.modelId, path: byName.path, via: 'fd', fd: fd.fd, staleInode: true })
  }
  for (const m of p.maps ?? []) {
    const f = byId.get(`${m.dev}:${m.ino}`) ?? byPath.get(m.path)
    if (!f) continue
    const had = held.find((h) => h.via === 'map' && h.path === f.path)
    if (had) had.mappedBytes = (had.mappedBytes ?? 0) + m.bytes
    else held.push({ modelId: f.modelId, path: f.path, via: 'map', mappedBytes: m.bytes, ...(byId.has(`${m.dev}:${m.ino}`) ? {} : { staleInode: true }) })
  }
  return held
}
