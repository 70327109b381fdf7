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
  /** Device-local memory this client holds: drm-memory-vram (amdgpu), drm-total-local*|vram* (i915, xe) */
  vramBytes: number
}

/** One fdinfo file of a DRM fd; null when the fd is not a DRM client. */
export function parseDrmFdinfo(text: string): DrmClient | null {
  const kv = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  const driver = kv.get('drm-driver')
  if (!driver) return null
  const bytes = (v: string) => {
    const m = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(v)
    return m ? Number(m[1]) * unitBytes[m[2] ?? ''] : 0
  }
  let vram = 0
  for (const [k, v] of kv) {
    // amdgpu's legacy key and the generic per-region keys; local/vram regions are device memory.
    if (k === 'drm-memory-vram' || /^drm-total-(local|vram)\d*$/.test(k)) vram += bytes(v)
  }
  return { driver, pdev: kv.get('drm-pdev') ?? '', clientId: kv.get('drm-client-id') ?? '', vramBytes: vram }
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
      },
    })
  }
  return out
}

/** Every process's DRM clients, one entry per (pid, pdev, client id): a client's fds are one client. */
export async function readDrmClients(proc = '/proc'): Promise<Array<DrmClient & { pid: number; comm: string }>> {
  const out: Array<DrmClient & { pid: number; comm: string }> = []
  let pids: string[]
  try {
    pids = (await readdir(proc)).filter((n) => /^\d+$/.test(n))
  } catch {
    return out
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = await readdir(join(proc, pid, 'fd'))
    } catch {
      continue // another user's process, or it exited
    }
    const seen = new Set<string>()
    let comm: string | null = null
    for (const fd of fds) {
      const target = await readlink(join(proc, pid, 'fd', fd)).catch(() => '')
      if (!target.startsWith('/dev/dri/')) continue
      const info = await text(join(proc, pid, 'fdinfo', fd))
      const c = info ? parseDrmFdinfo(info) : null
      if (!c || seen.has(`${c.pdev}/${c.clientId}`)) continue
      seen.add(`${c.pdev}/${c.clientId}`)
      comm ??= (await text(join(proc, pid, 'comm'))) ?? ''
      out.push({ ...c, pid: Number(pid), comm })
    }
  }
  return out
}

/** The DRM cards with each process's device memory attached. */
export async function readDrm(sysDrm = '/sys/class/drm', proc = '/proc'): Promise<GpuDevice[]> {
  const cards = await readDrmCards(sysDrm)
  if (!cards.length) return []
  const clients = await readDrmClients(proc)
  for (const c of cards) {
    const byPid = new Map<number, { comm: string; bytes: number }>()
    for (const cl of clients) {
      if (c.pdev && cl.pdev && cl.pdev !== c.pdev) continue
      if (!c.pdev && cards.length > 1) continue
      const e = byPid.get(cl.pid) ?? { comm: cl.comm, bytes: 0 }
      e.bytes += cl.vramBytes
      byPid.set(cl.pid, e)
    }
    for (const [pid, e] of byPid) if (e.bytes > 0) c.device.processes.push({ pid, name: e.comm, usedBytes: e.bytes })
  }
  return cards.map((c) => c.device)
}
