// Pins and keep-warm: pinned models (kept in settings) are checked periodically and re-read at
// idle I/O priority when their residency falls below the threshold.
import { closeSync, fstatSync, openSync } from 'node:fs'
import { HearthError, type PinInfo } from '../../../shared/api'
import type { WarmServiceDeps } from './deps'
import { residentBytesOf } from './missing-ranges'
import { groupTargets } from './plan'
import type { Warming } from './warming'

export function createKeepWarm(deps: WarmServiceDeps, warming: Warming) {
  const { jobs, settings } = deps
  const pinState = new Map<string, PinInfo>()
  let timer: NodeJS.Timeout | null = null
  let checking: Promise<void> | null = null

  function pinInfo(id: string): PinInfo {
    let p = pinState.get(id)
    if (!p) pinState.set(id, (p = { modelId: id, residentFraction: null, lastCheckMs: null, lastRewarmMs: null, lastRewarmBytes: 0, rewarms: 0 }))
    return p
  }
  /**
   * The pins, each with its residency: measured now where keep-warm has not looked yet (a CLI's
   * own backend runs no keep-warm, and showed "?" for a model that was all in RAM).
   */
  async function listPins(): Promise<PinInfo[]> {
    for (const id of settings.get().pins) {
      const p = pinInfo(id)
      if (p.residentFraction === null) await look(p, id).catch(() => undefined) // gone or unreadable: stays unknown
    }
    return settings.get().pins.map((id) => ({ ...pinInfo(id) }))
  }

  async function pin(model: string): Promise<PinInfo[]> {
    const files = await deps.resolve([model])
    const id = files[0]?.modelId
    if (!id || files.some((f) => f.modelId !== id)) {
      throw new HearthError('BAD_INPUT', `pin needs one model from \`hearth models\` (an id or a unique part of its name), not "${model}"`)
    }
    const pins = settings.get().pins
    if (!pins.includes(id)) await settings.update({ pins: [...pins, id] })
    void checkPins()
    return listPins()
  }

  async function unpin(model: string): Promise<PinInfo[]> {
    const pins = settings.get().pins
    let id = pins.includes(model) ? model : undefined
    if (!id) id = (await deps.resolve([model]).catch(() => []))[0]?.modelId
    if (!id || !pins.includes(id)) throw new HearthError('NOT_FOUND', `"${model}" is not pinned; pinned: ${pins.join(', ') || 'none'}`)
    await settings.update({ pins: pins.filter((p) => p !== id) })
    pinState.delete(id)
    return listPins()
  }

  /** Size and resident bytes of a model's files (unknown residency counts as resident). */
  function measure(paths: string[]): { bytes: number; resident: number } {
    let bytes = 0
    let resident = 0
    for (const path of paths) {
      const fd = openSync(path, 'r')
      try {
        const size = fstatSync(fd).size
        bytes += size
        resident += residentBytesOf(fd, size) ?? size
      } finally {
        closeSync(fd)
      }
    }
    return { bytes, resident }
  }

  /** Resolves a pin's files and records how much of them is resident. */
  async function look(p: PinInfo, id: string) {
    const files = await deps.resolve([id])
    const { bytes, resident } = measure(files.map((f) => f.path))
    p.lastCheckMs = Date.now()
    p.residentFraction = bytes > 0 ? resident / bytes : 1
    return { files, bytes, resident, fraction: p.residentFraction }
  }

  async function checkPin(id: string, threshold: number, minIntervalMs: number): Promise<void> {
    const p = pinInfo(id)
    const { files, bytes, resident, fraction } = await look(p, id)
    if (fraction >= threshold) return
    if (p.lastRewarmMs !== null && Date.now() - p.lastRewarmMs < minIntervalMs) return
    const busy = jobs.list().some((j) => (j.status === 'running' || j.status === 'queued') && j.modelId === id)
    if (busy) return
    const was = fraction
    const [group] = groupTargets(files, deps.modelName)
    p.lastRewarmMs = Date.now()
    const h = await warming.startWarm(group, bytes - resident, { idle: true }, 'rewarm', ` (kept warm: residency had dropped to ${Math.round(was * 100)}%)`)
    void h.done.then((j) => {
      p.lastRewarmBytes = j.doneBytes
      p.rewarms++
    })
  }

  /** Re-warms pinned models whose residency fell below the threshold (at idle I/O priority). */
  function checkPins(): Promise<void> {
    checking ??= (async () => {
      const { pins, keepWarmThreshold } = settings.get()
      const minInterval = deps.keepWarmMinIntervalMs ?? 5 * 60_000
      for (const id of pins) {
        await checkPin(id, keepWarmThreshold, minInterval).catch(() => {
          pinInfo(id).residentFraction = null // the model went away or is unreadable; the next check tries again
        })
      }
    })().finally(() => (checking = null))
    return checking
  }

  return {
    pin,
    unpin,
    pins: listPins,
    checkPins,
    /** Starts keep-warm: pins from settings apply from now on */
    start(): void {
      if (timer) return
      timer = setInterval(() => void checkPins(), deps.keepWarmCheckMs ?? 15_000)
      timer.unref()
      void checkPins()
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = null
      await checking
    },
  }
}
