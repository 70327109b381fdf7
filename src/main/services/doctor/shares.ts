// The network-share picture: which mounts hold models, `fsc` on each, cachefilesd (installed,
// running), the caches the kernel has bound, the cache directory's free space against
// cachefilesd.conf's limits, and the FS-Cache read hit rate from the netfs/fscache stats.
import { access, constants, readFile, statfs } from 'node:fs/promises'
import type { HitRateSample, ShareMount, ShareStatus } from '../../../shared/api'
import { readFailure } from '../procs'
import { cacheCounters, cacheStateName, parseCachefilesdConf, parseCaches, parseStatsPairs, type CacheCounters } from './fscache'
import type { DoctorInputs } from './inputs'
import { hasOption, isNetworkFs } from './mountinfo'

/** The stats file of this kernel: 6.x moved netfs's counters to /proc/fs/netfs/stats. */
export async function readCacheCounters(procRoot: string): Promise<{ counters: CacheCounters; file: string } | { reason: string }> {
  const reasons: string[] = []
  for (const file of [`${procRoot}/fs/netfs/stats`, `${procRoot}/fs/fscache/stats`]) {
    try {
      const c = cacheCounters(parseStatsPairs(await readFile(file, 'utf8')))
      if (c) return { counters: c, file }
      reasons.push(`${file} has no cache read/download counters`)
    } catch (err) {
      reasons.push(readFailure(file, err))
    }
  }
  return { reason: reasons.join('; ') }
}

export async function findExecutable(name: string, env: NodeJS.ProcessEnv | Record<string, string | undefined>): Promise<string | null> {
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/local/sbin']
  for (const d of [...new Set(dirs)]) {
    const p = `${d}/${name}`
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p
  }
  return null
}

/** /etc/os-release's ID and ID_LIKE, to pick the package manager and Debian's RUN=yes step. */
export async function distro(etcRoot: string): Promise<{ id: string; like: string[] }> {
  const text = await readFile(`${etcRoot}/os-release`, 'utf8').catch(() => '')
  const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? ''
  return { id: get('ID'), like: get('ID_LIKE').split(/\s+/).filter(Boolean) }
}

export async function shareStatus(inputs: DoctorInputs, hitRate: HitRateSample[]): Promise<ShareStatus> {
  const notes: string[] = []
  const mounts = await inputs.mounts()
  const places = await inputs.places()
  const procs = await inputs.processes()
  const shareMounts: ShareMount[] = []
  if (!mounts.ok) notes.push(mounts.reason)
  for (const m of mounts.ok ? mounts.value : []) {
    if (!isNetworkFs(m.fstype)) continue
    const modelIds = new Set<string>()
    for (const f of await inputs.modelFiles()) {
      const p = places.get(f.path)
      if (p && 'mountPoint' in p && p.mountPoint === m.mountPoint) modelIds.add(f.modelId)
    }
    const directReaders = procs.filter((p) => p.files.some((h) => h.direct && modelIds.has(h.modelId))).map((p) => ({ pid: p.pid, command: p.runtime?.label ?? p.comm }))
    shareMounts.push({ mountPoint: m.mountPoint, source: m.source, fstype: m.fstype, fsc: hasOption(m.superOptions, 'fsc') || hasOption(m.options, 'fsc'), options: m.superOptions, modelIds: [...modelIds], directReaders })
  }
  const path = await findExecutable('cachefilesd', inputs.env)
  const running = (await inputs.rawProcesses()).some((p) => p.comm === 'cachefilesd')
  const cachesFile = `${inputs.roots.proc}/fs/fscache/caches`
  let caches: ShareStatus['caches'] = null
  try {
    const parsed = parseCaches(await readFile(cachesFile, 'utf8'))
    if (parsed === null) notes.push(`${cachesFile} is malformed (no CACHE header)`)
    else caches = parsed.map((c) => ({ name: c.name, state: cacheStateName(c.state), active: c.state === 'A' }))
  } catch (err) {
    notes.push((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${cachesFile} is missing: this kernel has no FS-Cache (or is older than 5.17, which had no caches list)` : readFailure(cachesFile, err))
  }
  const confFile = `${inputs.roots.etc}/cachefilesd.conf`
  let conf: ShareStatus['conf'] = null
  let cacheFreePercent: number | null = null
  const confText = await readFile(confFile, 'utf8').catch(() => null)
  if (confText !== null) {
    const c = parseCachefilesdConf(confText)
    if (!c) notes.push(`${confFile} has no "dir" line (cachefilesd refuses to start without it)`)
    else {
      conf = { dir: c.dir, brun: c.brun, bcull: c.bcull, bstop: c.bstop, file: confFile }
      notes.push(...c.notes.map((n) => `${confFile}: ${n}`))
      try {
        const s = await statfs(c.dir)
        cacheFreePercent = s.blocks > 0 ? (Number(s.bavail) / Number(s.blocks)) * 100 : null
      } catch (err) {
        notes.push(readFailure(c.dir, err))
      }
    }
  }
  return { mounts: shareMounts, cachefilesd: { installed: path !== null, running, path }, caches, conf, cacheFreePercent, hitRate, notes }
}
