// nvidia-smi's CSV (noheader, nounits): the fallback when NVML cannot be loaded.
import { execFile } from 'node:child_process'
import type { GpuDevice } from '../../../shared/api'

const MiB = 1024 * 1024

export const gpuQueryArgs = ['--query-gpu=index,name,memory.total,memory.used,memory.free,utilization.gpu', '--format=csv,noheader,nounits']
export const appsQueryArgs = ['--query-compute-apps=gpu_uuid,pid,process_name,used_memory', '--format=csv,noheader,nounits']
export const uuidQueryArgs = ['--query-gpu=index,uuid', '--format=csv,noheader,nounits']

/** "[N/A]" and "[Not Supported]" become null. */
function n(v: string | undefined): number | null {
  const x = Number((v ?? '').trim())
  return v === undefined || (v ?? '').includes('[') || !Number.isFinite(x) ? null : x
}

export function parseGpuCsv(text: string): GpuDevice[] {
  const out: GpuDevice[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const f = line.split(',').map((s) => s.trim())
    // Names may contain commas in theory; the numbers are always the last four fields.
    const idx = n(f[0])
    if (idx === null || f.length < 6) continue
    const [total, used, free, util] = f.slice(-4).map(n)
    out.push({
      id: `nvidia:${idx}`,
      vendor: 'nvidia',
      index: idx,
      name: f.slice(1, -4).join(','),
      totalBytes: total === null ? null : total * MiB,
      usedBytes: used === null ? null : used * MiB,
      freeBytes: free === null ? null : free * MiB,
      utilizationPercent: util,
      processes: [],
    })
  }
  return out
}

export interface SmiApp {
  gpuUuid: string
  pid: number
  name: string
  usedBytes: number | null
}

export function parseAppsCsv(text: string): SmiApp[] {
  const out: SmiApp[] = []
  for (const line of text.split('\n')) {
    const f = line.split(',').map((s) => s.trim())
    if (f.length < 4) continue
    const pid = n(f[1])
    if (pid === null) continue
    const used = n(f[f.length - 1])
    out.push({ gpuUuid: f[0], pid, name: f.slice(2, -1).join(','), usedBytes: used === null ? null : used * MiB })
  }
  return out
}

export function parseUuidCsv(text: string): Map<string, number> {
  const m = new Map<string, number>()
  for (const line of text.split('\n')) {
    const [i, uuid] = line.split(',').map((s) => s.trim())
    if (uuid && Number.isFinite(Number(i))) m.set(uuid, Number(i))
  }
  return m
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((ok, fail) =>
    execFile(bin, args, { timeout: 5000, maxBuffer: 1 << 20 }, (err, stdout) => (err ? fail(err) : ok(stdout))),
  )
}

/** null when nvidia-smi is missing or fails (no driver): the caller says "no GPU" plainly. */
export async function readNvidiaSmi(bin = 'nvidia-smi'): Promise<GpuDevice[] | null> {
  let gpus: GpuDevice[]
  try {
    gpus = parseGpuCsv(await run(bin, gpuQueryArgs))
  } catch {
    return null
  }
  try {
    const uuids = parseUuidCsv(await run(bin, uuidQueryArgs))
    for (const app of parseAppsCsv(await run(bin, appsQueryArgs))) {
      const g = gpus.find((d) => d.index === uuids.get(app.gpuUuid)) ?? (gpus.length === 1 ? gpus[0] : undefined)
      g?.processes.push({ pid: app.pid, name: app.name.split('/').pop() ?? app.name, usedBytes: app.usedBytes })
    }
  } catch {
    // Per-process figures are a bonus; the totals stand without them.
  }
  return gpus
}
