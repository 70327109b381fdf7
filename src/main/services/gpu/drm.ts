// AMD and Intel GPUs through the kernel's DRM interfaces: sysfs for the card's VRAM totals,
// /proc/PID/fdinfo for what each process holds (Documentation/gpu/drm-usage-stats.rst).
import { readFile, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { GpuDevice } from '../../../shared/api'

const vendors: Record<string, 'amd' | 'intel' | 'nvidia'> = { '0x1002': 'amd', '0x8086': 'intel', '0x10de': 'nvidia' }

const unitBytes: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

export interface DrmClient {
  driver: string
  pdev: string
  clientId: string
  /** Device-local memory (VRAM) this client holds: regions vram* (amdgpu, xe) and local* (i915), each once */
  vramBytes: number
  /** GTT: system RAM the GPU maps for this client (amdgpu, xe). On an APU this is where a model lives. */
  gttBytes: number
}

/** What one fdinfo says about one memory region, by key family (Documentation/gpu/drm-usage-stats.rst). */
interface RegionFigures {
  /** drm-resident-<region>: what sits in the region now */
  resident?: number
  /** drm-memory-<region>: amdgpu's older key; since Linux 6.13 an alias of resident */
  legacy?: number
  /** drm-total-<region>: what the client asked to place there, resident or not */
  total?: number
}

const vramRegion = /^(vram|local)\d*$/
const gttRegion = /^gtt$/

/** "123", "4 KiB", "20 MiB" → bytes; null for anything else. */
function sizeBytes(v: string): number | null {
  const m = /^(\d+)(?:\s*(KiB|MiB|GiB))?$/.exec(v)
  return m ? Number(m[1]) * unitBytes[m[2] ?? ''] : null
}

/**
 * One fdinfo file of a DRM fd; null when the fd is not a DRM client. Current kernels print each
 * region in several key families at once (amdgpu: drm-total-vram, drm-resident-vram and the older
 * drm-memory-vram, which the kernel keeps as an alias of resident): each region is counted once,
 * as resident where the driver says, else the older key, else total.
 */
export function parseDrmFdinfo(text: string): DrmClient | null {
  const kv = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  const driver = kv.get('drm-driver')
  if (!driver) return null
  const regions = new Map<string, RegionFigures>()
  for (const [k, v] of kv) {
    const m = /^drm-(resident|memory|total)-(.+)$/.exec(k)
    const bytes = m ? sizeBytes(v) : null
    if (!m || bytes === null) continue
    const r = regions.get(m[2]) ?? {}
    r[m[1] === 'memory' ? 'legacy' : (m[1] as 'resident' | 'total')] = bytes
    regions.set(m[2], r)
  }
  let vram = 0
  let gtt = 0
  for (const [name, r] of regions) {
    const bytes = r.resident ?? r.legacy ?? r.total ?? 0
    if (vramRegion.test(name)) vram += bytes
    else if (gttRegion.test(name)) gtt += bytes
  }
  return { driver, pdev: kv.get('drm-pdev') ?? '', clientId: kv.get('drm-client-id') ?? '', vramBytes: vram, gttBytes: gtt }
}

async function text(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return null
  }
}

export interface DrmCard {
  card: string
  vendor: 'amd' | 'intel' | 'nvidia'
  pdev: string
  device: GpuDevice
}

/** Cards under /sys/class/drm (card0, card1 …; connectors like card0-HDMI-A-1 are skipped). */
export async function readDrmCards(sysDrm = '/sys/class/drm'): Promise<DrmCard[]> {
  let names: string[]
  try {
    names = (await readdir(sysDrm)).filter((n) => /^card\d+$/.test(n)).sort()
  } catch {
    return []
  }
  const out: DrmCard[] = []
  for (const card of names) {
    const dev = join(sysDrm, card, 'device')
    const vendor = vendors[(await text(join(dev, 'vendor'))) ?? '']
    if (!vendor || vendor === 'nvidia') continue // NVIDIA's figures come from NVML / nvidia-smi
    const uevent = (await text(join(dev, 'uevent'))) ?? ''
    const pdev = /PCI_SLOT_NAME=(\S+)/.exec(uevent)?.[1] ?? ''
    const total = Number(await text(join(dev, 'mem_info_vram_total'))) || null
    const usedRaw = await text(join(dev, 'mem_info_vram_used'))
    const used = usedRaw === null ? null : Number(usedRaw)
    const busy = await text(join(dev, 'gpu_busy_percent'))
    // amdgpu's GTT: the system RAM the GPU may map (on an APU, what its models use)
    const gttTotal = Number(await text(join(dev, 'mem_info_gtt_total'))) || null
    const gttUsedRaw = await text(join(dev, 'mem_info_gtt_used'))
    const product = (await text(join(dev, 'product_name'))) || null
    out.push({
      card,
      vendor,
      pdev,
      device: {
        id: `${vendor}:${card}`,
        vendor,
        index: Number(card.slice(4)),
        name: product ?? `${vendor === 'amd' ? 'AMD' : 'Intel'} GPU ${pdev || card}`,
        totalBytes: total,
        usedBytes: used,
        freeBytes: total !== null && used !== null ? total - used : null,
        utilizationPercent: busy === null ? null : Number(busy),
        processes: [],
        ...(gttTotal !== null ? { gttTotalBytes: gttTotal, gttUsedBytes: gttUsedRaw === null ? null : Number(gttUsedRaw) } : {}),
      },
    })
  }
  return out
}

/**
 * Every process's DRM clients, one entry per client: a client's fds (dup'd, or inherited across
 * fork) are one client, counted once, for the lowest pid that holds it. Fds without a client id
 * (older kernels) count each on their own.
 */
export async function readDrmClients(proc = '/proc'): Promise<Array<DrmClient & { pid: number; comm: string }>> {
  const out: Array<DrmClient & { pid: number; comm: string }> = []
  let pids: number[]
  try {
    pids = (await readdir(proc)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b)
  } catch {
    return out
  }
  const seen = new Set<string>()
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = await readdir(join(proc, String(pid), 'fd'))
    } catch {
      continue // another user's process, or it exited
    }
    let comm: string | null = null
    for (const fd of fds) {
      const target = await readlink(join(proc, String(pid), 'fd', fd)).catch(() => '')
      if (!target.startsWith('/dev/dri/')) continue
      const info = await text(join(proc, String(pid), 'fdinfo', fd))
      const c = info ? parseDrmFdinfo(info) : null
      if (!c) continue
      const key = c.clientId ? `${c.pdev}/${c.clientId}` : `${pid}/fd${fd}`
      if (seen.has(key)) continue
      seen.add(key)
      comm ??= (await text(join(proc, String(pid), 'comm'))) ?? ''
      out.push({ ...c, pid, comm })
    }
  }
  return out
}

/** The DRM cards with each process's device memory (and GTT) attached. */
export async function readDrm(sysDrm = '/sys/class/drm', proc = '/proc'): Promise<GpuDevice[]> {
  const cards = await readDrmCards(sysDrm)
  if (!cards.length) return []
  const clients = await readDrmClients(proc)
  for (const c of cards) {
    const byPid = new Map<number, { comm: string; vram: number; gtt: number }>()
    for (const cl of clients) {
      if (c.pdev && cl.pdev && cl.pdev !== c.pdev) continue
      if (!c.pdev && cards.length > 1) continue
      const e = byPid.get(cl.pid) ?? { comm: cl.comm, vram: 0, gtt: 0 }
      e.vram += cl.vramBytes
      e.gtt += cl.gttBytes
      byPid.set(cl.pid, e)
    }
    for (const [pid, e] of byPid) {
      if (e.vram > 0 || e.gtt > 0) c.device.processes.push({ pid, name: e.comm, usedBytes: e.vram, ...(e.gtt > 0 ? { gttBytes: e.gtt } : {}) })
    }
  }
  return cards.map((c) => c.device)
}
