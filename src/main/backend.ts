// Implements HearthApi from the services. Every transport (direct calls in the CLI, WebSocket in
// serve mode, Electron IPC) gets this one object; inputs are checked against the contract here
// too, so a direct call and a remote one fail the same way.
import { methods, type HearthApi, type MethodName } from '../shared/api'
import { parseInput } from '../shared/rpc'
import type { Context } from './context'
import { createHub } from './hub'
import { openSettings } from './settings'
import type { Env } from './paths'
import { createCatalogService } from './services/catalog'
import { createResidencyService } from './services/pagecache'
import { createTelemetryService } from './services/telemetry'
import { catalogApi } from './api/catalog'
import { residencyApi } from './api/residency'
import { telemetryApi } from './api/telemetry'
import { jobsApi } from './api/jobs'
import { plannerApi } from './api/planner'
import { createGpuService } from './services/gpu'
import { createJobRunner } from './services/jobs'
import { createWarmService } from './services/warm'
import { createStagingService } from './services/staging'
import { sessionHelper } from './helper-client'
import { stagingApi } from './api/staging'
import { createTensorsService } from './services/tensors'
import { tensorsApi } from './api/tensors'
import { createDoctorService } from './services/doctor'
import { doctorApi } from './api/doctor'
import { daemonApi } from './api/daemon'
import { createNotifyService } from './services/notify'
import { newHostState, type HostState } from './daemon/host-state'
import { createLabService } from './services/lab'
import { labApi } from './api/lab'

export interface Backend extends HearthApi {
  readonly ctx: Context
  /** Scans, then starts watchers and the 1 Hz samplers (the long-running front ends call this). */
  start(): Promise<void>
  stop(): Promise<void>
}

export interface BackendOptions {
  env?: Env
  /** Who holds this backend (default: a lone CLI) */
  host?: HostState
  /** Pinned models are first checked this long after start() (a start at login waits for the desktop) */
  keepWarmDelayMs?: number
  /** How often pins are checked, and the least time between two re-warms of one pin */
  keepWarmCheckMs?: number
  keepWarmMinIntervalMs?: number
}

export async function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  const env = opts.env ?? process.env
  const hub = createHub()
  const settings = await openSettings(env)
  const catalog = createCatalogService({ env, hub, settings })
  // One helper per session: staging starts it; lock uses it beyond RLIMIT_MEMLOCK; residency asks
  // it only while it already runs.
  const helper = sessionHelper(env)
  const residency = createResidencyService({ hub, catalog, helper })
  const telemetry = createTelemetryService({ hub })
  const jobs = createJobRunner({ hub })
  const warm = createWarmService({
    jobs,
    settings,
    resolve: (targets) => catalog.resolve(targets),
    modelResidency: () => residency.ofModels(),
    modelName: (id) => catalog.current().models.find((m) => m.id === id)?.name,
    helper,
    keepWarmCheckMs: opts.keepWarmCheckMs,
    keepWarmMinIntervalMs: opts.keepWarmMinIntervalMs,
  })
  const gpu = createGpuService({ hub, catalog })
  const staging = createStagingService({ hub, settings, catalog, jobs, helper, locks: warm })
  const tensors = createTensorsService({ hub, catalog })
  const doctor = createDoctorService({
    hub,
    env,
    settings,
    catalog,
    residency,
    telemetry,
    jobs,
    privilege: () => staging.privilege(),
    inotifyStatus: () => staging.inotifyStatus(),
  })
  const notify = createNotifyService({ hub, settings, env })
  const host = opts.host ?? newHostState()
  const lab = createLabService({ hub, env, settings, catalog, residency, jobs, warm, staging, helper })
  const ctx: Context = { env, hub, settings, catalog, residency, telemetry, jobs, warm, gpu, staging, tensors, doctor, notify, host, lab }

  const impl: Omit<HearthApi, 'subscribe'> = {
    ...catalogApi(ctx),
    ...residencyApi(ctx),
    ...telemetryApi(ctx),
    ...jobsApi(ctx),
    ...plannerApi(ctx),
    ...stagingApi(ctx),
    ...tensorsApi(ctx),
    ...doctorApi(ctx),
    ...daemonApi(ctx),
    ...labApi(ctx),
  }

  const api = {} as Record<string, unknown>
  for (const name of Object.keys(methods) as MethodName[]) {
    const fn = impl[name] as ((input: unknown) => Promise<unknown>) | undefined
    if (!fn) throw new Error(`backend: contract method ${name} has no implementation`)
    api[name] = (input?: unknown) => {
      try {
        return fn(parseInput(name, input))
      } catch (err) {
        return Promise.reject(err)
      }
    }
  }

  let started = false
  let keepWarmTimer: NodeJS.Timeout | null = null
  return Object.assign(api as unknown as HearthApi, {
    ctx,
    subscribe: hub.subscribe,
    async start() {
      if (started) return
      started = true
      await catalog.scan()
      await catalog.start()
      residency.start()
      telemetry.start()
      gpu.start()
      notify.start()
      // Keep-warm reads at idle I/O priority; after a start at login it also waits a while.
      if (opts.keepWarmDelayMs) (keepWarmTimer = setTimeout(() => warm.start(), opts.keepWarmDelayMs)).unref()
      else warm.start()
      doctor.start()
    },
    async stop() {
      if (keepWarmTimer) clearTimeout(keepWarmTimer)
      notify.stop()
      catalog.stop()
      residency.stop()
      telemetry.stop()
      gpu.stop()
      doctor.stop()
      await jobs.stop()
      await lab.stop()
      await warm.stop()
      await staging.stop()
      await tensors.stop()
    },
  })
}
