// Evict: drop a model's pages from the page cache (posix_fadvise DONTNEED) and say what stayed and
// why: pages another process maps, or a lock, stay resident. A lock Hearth holds is named as
// Hearth's own (with the way to undo it), never as "mapped by node".
import { closeSync, fstatSync, openSync } from 'node:fs'
import { HearthError, type EvictFileReport, type EvictHolder, type EvictReport } from '../../../shared/api'
import { fadvise, FADV } from '../../sys/fadvise'
import { groupsOf, type WarmServiceDeps } from './deps'
import { describeFsError } from './errors'
import { formatBytes } from '../../../shared/format'
import { hearthCommandOf, processesMapping } from './holders'
import type { Locking } from './locking'
import { residentBytesOf } from './missing-ranges'
import type { TargetGroup } from './plan'

/** Tags each process mapping `path` that is a Hearth lock: this one, its helper, or another Hearth. */
async function holdersOf(dev: number, ino: number, path: string, locking: Locking, helperPid: number | undefined): Promise<EvictHolder[]> {
  const own = locking.lockOf(path)
  const out: EvictHolder[] = []
  for (const h of await processesMapping(dev, ino)) {
    if (own && own.holder === 'hearth' && h.pid === process.pid) out.push({ ...h, hearthLock: 'this' })
    else if (own && own.holder === 'helper' && h.pid === helperPid) out.push({ ...h, hearthLock: 'helper' })
    else {
      const other = await hearthCommandOf(h.pid)
      out.push(other ? { pid: h.pid, command: other, hearthLock: 'other' } : h)
    }
  }
  return out
}

/** Why pages stayed, for people: Hearth's own lock first (with the fix), then other processes. */
export function stayedNote(keptBytes: number, files: EvictFileReport[], target: string): string {
  if (keptBytes === 0) return 'evicted'
  const holders = new Map<number, EvictHolder>()
  for (const f of files) for (const h of f.holders) holders.set(h.pid, h)
  const all = [...holders.values()]
  if (all.length === 0) return `${formatBytes(keptBytes)} stayed resident (dirty or in use)`
  const why: string[] = []
  const unlock = `Unlock it (in the app, or \`hearth unlock ${target}\`), then evict again`
  if (all.some((h) => h.hearthLock === 'this')) why.push(`Hearth itself holds it locked in RAM (pid ${process.pid}); ${unlock}`)
  for (const h of all.filter((x) => x.hearthLock === 'helper'))
    why.push(`Hearth's privileged helper holds it locked in RAM for this Hearth (${h.command}, pid ${h.pid}); ${unlock}`)
  for (const h of all.filter((x) => x.hearthLock === 'other'))
    why.push(`another Hearth holds it (\`${h.command}\`, pid ${h.pid}); end that one (Ctrl-C in its terminal) or unlock it there`)
  const plain = all.filter((x) => !x.hearthLock)
  if (plain.length) why.push(`mapped by ${plain.map((x) => `${x.command} (pid ${x.pid})`).join(', ')}`)
  return `${formatBytes(keptBytes)} stayed resident: ${why.join('; ')}`
}

export function createEvicting(deps: WarmServiceDeps, locking: Locking) {
  const { jobs } = deps

  /** A warm of the same model would undo the evict: stop it first. */
  async function stopWarmsOf(group: TargetGroup): Promise<void> {
    for (const j of jobs.list()) {
      if ((j.status === 'running' || j.status === 'queued') && (j.kind === 'warm' || j.kind === 'rewarm') && group.files.some((f) => j.paths.includes(f.path))) {
        jobs.cancel(j.id)
        await jobs.wait(j.id)
      }
    }
  }

  async function evictFile(path: string, files: EvictFileReport[]): Promise<number> {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (err) {
      throw describeFsError(err, path, 'open for evict')
    }
    try {
      const st = fstatSync(fd)
      fadvise(fd, 0, 0, FADV.DONTNEED)
      const residentBytes = residentBytesOf(fd, st.size)
      const holders = residentBytes ? await holdersOf(st.dev, st.ino, path, locking, deps.helper?.pid) : []
      files.push({ path, bytes: st.size, residentBytes, holders })
      return st.size
    } finally {
      closeSync(fd)
    }
  }

  async function evictGroup(group: TargetGroup): Promise<EvictReport> {
    await stopWarmsOf(group)
    const files: EvictFileReport[] = []
    const h = jobs.run({
      kind: 'evict',
      label: group.label,
      ...(group.modelId ? { modelId: group.modelId } : {}),
      paths: group.files.map((f) => f.path),
      // evict is instant: never queue it behind a warm on the same disk
      device: `evict:${group.key}`,
      totalBytes: group.files.reduce((s, f) => s + f.bytes, 0),
      work: async (progress) => {
        for (const f of group.files) progress.add(await evictFile(f.path, files))
        // how to name it to `hearth unlock`: its model id, or the path (quoted when it has spaces)
        const target = group.modelId ?? (/\s/.test(group.key) ? `"${group.key}"` : group.key)
        const note = stayedNote(
          files.reduce((s, f) => s + (f.residentBytes ?? 0), 0),
          files,
          target,
        )
        // An evict of a pinned model lasts only until keep-warm's next look: say so, and how not.
        const pinned = group.modelId !== undefined && deps.settings.get().pins.includes(group.modelId)
        return pinned ? `${note}; it is pinned, so keep-warm (the app or \`hearth daemon\`) reads it back soon: \`hearth unpin ${target}\` to keep it out of RAM` : note
      },
    })
    const job = await h.done
    if (job.status === 'failed') throw new HearthError((job.error?.code as 'IO') ?? 'IO', job.error?.message ?? 'evict failed')
    const locked = files.some((f) => f.holders.some((x) => x.hearthLock === 'this' || x.hearthLock === 'helper'))
    return { job, files, ...(locked ? { lockedByThisHearth: true } : {}) }
  }

  async function evict(targets: string[]): Promise<EvictReport[]> {
    return Promise.all((await groupsOf(deps, targets)).map(evictGroup))
  }

  return { evict }
}
