// Warm jobs measure their device: each warm's own rate is recorded as the device's bandwidth,
// checked against the disk's sector counters (when fewer bytes came off the disk than the warm
// read, a cache in between served them and the rate says nothing about the disk).
import { readFile } from 'node:fs/promises'
import type { Job } from '../../../shared/api'
import { parseDiskstats } from '../telemetry/proc-parsers'
import { minSampleBytes, type BandwidthStore } from './bandwidth'
import type { DoctorInputs } from './inputs'
import { createPlaceFinder } from './storage-map'

interface WarmStart {
  key: string | null
  disk: string | null
  sectors: number | null
}

export function createWarmRateRecorder(deps: { inputs: () => DoctorInputs; procRoot: string; sysRoot: string; bandwidth: BandwidthStore }) {
  const warmStarts = new Map<string, Promise<WarmStart>>()

  async function diskSectors(disk: string | null): Promise<number | null> {
    if (!disk) return null
    const text = await readFile(`${deps.procRoot}/diskstats`, 'utf8').catch(() => '')
    return parseDiskstats(text).find((d) => d.name === disk)?.sectorsRead ?? null
  }

  async function placeKeyOf(path: string): Promise<string | null> {
    const m = await deps.inputs().mounts()
    if (!m.ok) return null
    const p = await createPlaceFinder(m.value, deps.sysRoot)(path)
    return 'key' in p ? p.key : null
  }

  async function startOf(path: string): Promise<WarmStart> {
    const place = (await deps.inputs().places()).get(path)
    const key = place && 'key' in place ? place.key : await placeKeyOf(path)
    const disk = key?.startsWith('disk:') ? key.slice(5) : null
    return { key, disk, sectors: await diskSectors(disk) }
  }

  async function record(job: Job, ms: number, s: WarmStart): Promise<void> {
    if (!s.key || s.key.startsWith('ram:')) return
    const after = await diskSectors(s.disk)
    const diskBytes = s.sectors !== null && after !== null ? (after - s.sectors) * 512 : null
    if (diskBytes !== null && diskBytes < 0.5 * job.doneBytes) return
    await deps.bandwidth.record(s.key, { bytesPerSec: (job.doneBytes * 1000) / ms, bytes: job.doneBytes, atMs: job.endedAtMs!, source: 'warm' })
    if (diskBytes !== null) await deps.bandwidth.record(s.key, { bytesPerSec: (diskBytes * 1000) / ms, bytes: diskBytes, atMs: job.endedAtMs!, source: 'diskstats' })
  }

  /** Follows a job update: notes where a warm starts, records its rate when it is done. */
  function onJob(job: Job): void {
    if (job.kind !== 'warm' && job.kind !== 'rewarm') return
    // A start that cannot be placed measures nothing (never an unhandled rejection).
    if (job.status === 'running' && !warmStarts.has(job.id) && job.paths[0]) warmStarts.set(job.id, startOf(job.paths[0]).catch(() => ({ key: null, disk: null, sectors: null })))
    if (job.status !== 'done' && job.status !== 'failed' && job.status !== 'cancelled') return
    const start = warmStarts.get(job.id)
    warmStarts.delete(job.id)
    if (!start || job.status !== 'done' || job.startedAtMs === null || job.endedAtMs === null) return
    const ms = job.endedAtMs - job.startedAtMs
    if (job.doneBytes < minSampleBytes || ms < 50) return
    void start.then((s) => record(job, ms, s)).catch(() => undefined)
  }

  return { onJob }
}
