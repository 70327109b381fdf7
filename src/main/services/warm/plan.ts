// What a warm would read, and whose pages it would push out. Free RAM absorbs the read first,
// then the kernel reclaims cache; we count cache that belongs to no model as going before model
// pages (it usually is older), and name the warm models once the read exceeds both.
import { closeSync, fstatSync, openSync } from 'node:fs'
import type { ModelResidency, WarmPlan, WarmPlanFile, WarmPlanTarget } from '../../../shared/api'
import type { ResolvedFile } from '../../context'
import { describeFsError } from './errors'
import { formatBytes } from '../../../shared/format'
import type { MemInfo } from './meminfo'
import { missingRanges } from './missing-ranges'

export interface TargetGroup {
  key: string
  label: string
  modelId?: string
  files: ResolvedFile[]
}

export function groupTargets(files: ResolvedFile[], modelName: (id: string) => string | undefined): TargetGroup[] {
  const groups = new Map<string, TargetGroup>()
  for (const f of files) {
    const key = f.modelId ?? f.path
    let g = groups.get(key)
    if (!g) {
      const label = f.modelId ? (modelName(f.modelId) ?? f.modelId) : f.path
      groups.set(key, (g = { key, label, ...(f.modelId ? { modelId: f.modelId } : {}), files: [] }))
    }
    if (!g.files.some((x) => x.path === f.path)) g.files.push(f)
  }
  return [...groups.values()]
}

export function planFile(f: ResolvedFile): WarmPlanFile {
  let fd: number
  try {
    fd = openSync(f.path, 'r')
  } catch (err) {
    throw describeFsError(err, f.path, 'open')
  }
  try {
    const bytes = fstatSync(fd).size
    const m = missingRanges(fd, bytes)
    return {
      path: f.path,
      ...(f.modelId ? { modelId: f.modelId } : {}),
      bytes,
      residentBytes: m.known ? bytes - m.missingBytes : null,
      toReadBytes: m.missingBytes,
    }
  } finally {
    closeSync(fd)
  }
}

/** Keeps this much free for the kernel's own watermarks and the rest of the desktop. */
export const headroomBytes = 256 << 20

export function makePlan(
  groups: TargetGroup[],
  mem: MemInfo,
  models: ModelResidency[],
  modelName: (id: string) => string | undefined,
): WarmPlan {
  const targets: WarmPlanTarget[] = groups.map((g) => {
    const files = g.files.map(planFile)
    return {
      label: g.label,
      ...(g.modelId ? { modelId: g.modelId } : {}),
      bytes: files.reduce((s, f) => s + f.bytes, 0),
      toReadBytes: files.reduce((s, f) => s + f.toReadBytes, 0),
      files,
    }
  })
  const bytes = targets.reduce((s, t) => s + t.bytes, 0)
  const toReadBytes = targets.reduce((s, t) => s + t.toReadBytes, 0)
  const fitsInRam = bytes <= mem.memTotalBytes - headroomBytes
  const targetIds = new Set(targets.map((t) => t.modelId).filter(Boolean))
  const warm = models.filter((m) => !targetIds.has(m.modelId) && m.residentBytes > 0)
  const modelCache = warm.reduce((s, m) => s + m.residentBytes, 0)
  const otherCache = Math.max(0, mem.cachedBytes - mem.shmemBytes - modelCache)
  const evictBytes = Math.max(0, toReadBytes - Math.max(0, mem.memFreeBytes - headroomBytes) - otherCache)
  const wouldEvict =
    evictBytes > 0
      ? warm
          .sort((a, b) => b.residentBytes - a.residentBytes)
          .map((m) => ({ modelId: m.modelId, name: modelName(m.modelId) ?? m.modelId, residentBytes: m.residentBytes }))
      : []
  const what = targets.map((t) => t.label).join(', ')
  let summary: string
  if (!fitsInRam) summary = `${what} is ${formatBytes(bytes)} but RAM is ${formatBytes(mem.memTotalBytes)}: it cannot all stay in the page cache`
  else if (toReadBytes === 0) summary = `${what} is already resident`
  else if (wouldEvict.length)
    summary = `reading ${formatBytes(toReadBytes)} needs ${formatBytes(evictBytes)} of other models' cache: would evict ${wouldEvict
      .map((v) => `${v.name} (${formatBytes(v.residentBytes)} resident)`)
      .join(', ')}`
  else summary = `will read ${formatBytes(toReadBytes)} of ${formatBytes(bytes)}; ${formatBytes(mem.memFreeBytes)} free`
  return {
    targets,
    bytes,
    toReadBytes,
    memTotalBytes: mem.memTotalBytes,
    memFreeBytes: mem.memFreeBytes,
    memAvailableBytes: mem.memAvailableBytes,
    fitsInRam,
    evictBytes,
    wouldEvict,
    summary,
  }
}
