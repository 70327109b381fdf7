// Memory limits of a process's cgroup, v2 (memory.max, memory.high, memory.stat anon/file) and v1
// (memory.limit_in_bytes, memory.stat's hierarchical_memory_limit, cache, rss). A limit caps the
// page cache charged to the group too: a model bigger than the limit cannot stay cached for it.
import { readFile } from 'node:fs/promises'
import type { ProcCgroups, Read } from '../procs'
import { readFailure, unknown } from '../procs'
import { hasOption, type MountEntry } from './mountinfo'

/** v1 reports "no limit" as a page-rounded 2^63-1; anything this large means unlimited. */
const unlimitedFrom = 2 ** 62

/** A limit file ("max", or bytes); undefined when malformed, null when unlimited. */
export function parseLimitValue(text: string): number | null | undefined {
  const t = text.trim()
  if (t === 'max') return null
  if (!/^\d+$/.test(t)) return undefined
  const n = Number(t)
  return n >= unlimitedFrom ? null : n
}

/** memory.stat-style "key value" lines. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim())
    if (m) out.set(m[1], Number(m[2]))
  }
  return out
}

export interface CgroupMemory {
  version: 1 | 2
  /** The group's path as /proc/PID/cgroup names it */
  path: string
  /** Its directory under the cgroup mount */
  dir: string
  /** The tightest hard limit on the way to the root; null: none */
  limitBytes: number | null
  /** The file that sets it */
  limitFile: string | null
  /** v2 memory.high (reclaim starts there); null: none */
  highBytes: number | null
  highFile: string | null
  /** Page cache charged to the group (v2 file, v1 total_cache) */
  fileBytes: number | null
  /** Anonymous memory (v2 anon, v1 total_rss) */
  anonBytes: number | null
  statFile: string
}

function ancestors(mountPoint: string, rel: string): string[] {
  const parts = rel.split('/').filter(Boolean)
  const out: string[] = []
  for (let i = parts.length; i >= 0; i--) out.push([mountPoint, ...parts.slice(0, i)].join('/'))
  return out
}

/** The path inside the mount: a container sees its own group as the mount's root. */
function relativeTo(mount: MountEntry, path: string): string {
  if (mount.root !== '/' && (path === mount.root || path.startsWith(mount.root + '/'))) return path.slice(mount.root.length) || '/'
  return path
}

async function readLimit(file: string): Promise<Read<number | null>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return unknown(readFailure(file, err))
  }
  const v = parseLimitValue(text)
  return v === undefined ? unknown(`${file} is malformed (${JSON.stringify(text.trim().slice(0, 40))})`) : { ok: true, value: v }
}

/** The tightest limit over the group and its ancestors (missing ancestor files are skipped). */
async function tightest(dirs: string[], name: string): Promise<Read<{ bytes: number | null; file: string | null }>> {
  let best: { bytes: number | null; file: string | null } = { bytes: null, file: null }
  let first = true
  for (const d of dirs) {
    const r = await readLimit(`${d}/${name}`)
    if (!r.ok) {
      if (first) return r // the group's own file must be there
      continue
    }
    first = false
    if (r.value !== null && (best.bytes === null || r.value < best.bytes)) best = { bytes: r.value, file: `${d}/${name}` }
  }
  return { ok: true, value: best }
}

export async function memoryCgroup(cg: ProcCgroups, mounts: readonly MountEntry[]): Promise<Read<CgroupMemory>> {
  const v1Path = cg.v1.get('memory')
  const v1Mount = mounts.find((m) => m.fstype === 'cgroup' && hasOption(m.superOptions, 'memory'))
  if (v1Path !== undefined && v1Mount) {
    const rel = relativeTo(v1Mount, v1Path)
    const dir = ancestors(v1Mount.mountPoint, rel)[0]
    const lim = await readLimit(`${dir}/memory.limit_in_bytes`)
    if (!lim.ok) return lim
    const statFile = `${dir}/memory.stat`
    const stat = await readFile(statFile, 'utf8').then(parseFlatKeyed, () => new Map<string, number>())
    const hier = stat.get('hierarchical_memory_limit')
    const h = hier === undefined || hier >= unlimitedFrom ? null : hier
    const limitBytes = h !== null && (lim.value === null || h < lim.value) ? h : lim.value
    return {
      ok: true,
      value: {
        version: 1,
        path: v1Path,
        dir,
        limitBytes,
        limitFile: limitBytes === null ? null : limitBytes === lim.value ? `${dir}/memory.limit_in_bytes` : `${statFile} (hierarchical_memory_limit)`,
        highBytes: null,
        highFile: null,
        fileBytes: stat.get('total_cache') ?? stat.get('cache') ?? null,
        anonBytes: stat.get('total_rss') ?? stat.get('rss') ?? null,
        statFile,
      },
    }
  }
  const v2Mount = mounts.find((m) => m.fstype === 'cgroup2')
  if (cg.unified === null || !v2Mount) {
    return unknown(v1Path === undefined ? 'no memory cgroup: neither a v1 memory hierarchy nor cgroup2 is mounted for this process' : 'the v1 memory hierarchy is not mounted')
  }
  const rel = relativeTo(v2Mount, cg.unified)
  const dirs = ancestors(v2Mount.mountPoint, rel)
  // The root group has no memory.max; its own limits are the machine's.
  const own = dirs.length > 1 ? dirs.slice(0, -1) : dirs
  const controllers = await readFile(`${v2Mount.mountPoint}/cgroup.controllers`, 'utf8').catch(() => null)
  if (controllers !== null && !controllers.split(/\s+/).includes('memory')) return unknown(`${v2Mount.mountPoint}/cgroup.controllers has no memory controller (hybrid setup: v1 holds it)`)
  if (own.length === 1 && own[0] === v2Mount.mountPoint) {
    return { ok: true, value: { version: 2, path: cg.unified, dir: own[0], limitBytes: null, limitFile: null, highBytes: null, highFile: null, fileBytes: null, anonBytes: null, statFile: `${own[0]}/memory.stat` } }
  }
  const max = await tightest(own, 'memory.max')
  if (!max.ok) return max
  const high = await tightest(own, 'memory.high')
  const statFile = `${own[0]}/memory.stat`
  const stat = await readFile(statFile, 'utf8').then(parseFlatKeyed, () => new Map<string, number>())
  return {
    ok: true,
    value: {
      version: 2,
      path: cg.unified,
      dir: own[0],
      limitBytes: max.value.bytes,
      limitFile: max.value.file,
      highBytes: high.ok ? high.value.bytes : null,
      highFile: high.ok ? high.value.file : null,
      fileBytes: stat.get('file') ?? null,
      anonBytes: stat.get('anon') ?? null,
      statFile,
    },
  }
}
