// Network shares (nfs, nfs4, cifs, smb3) holding models: FS-Cache keeps a copy on local disk so a
// cold load does not cross the network, but only with `fsc` on the mount, cachefilesd running with a
// bound cache, and room in its directory. O_DIRECT readers bypass it. Each fix is a command for the
// user's own mount, and prewarming through the share is a warm job.
import type { Evidence, Finding, FixStep, ShareMount, ShareStatus } from '../../../shared/api'
import { formatBytes, formatPercent } from '../../../shared/format'
import type { DoctorInputs } from './inputs'
import { readFile } from 'node:fs/promises'
import { unescapeMountField, type MountEntry } from './mountinfo'
import { distro, readCacheCounters, shareStatus } from './shares'
import { hitRateBetween } from './fscache'
import { countEv, ev, percentEv, unknownEv, unknownFinding, type Check } from './types'

/** The /etc/fstab line of this mount with fsc added; synthesised when fstab has none. */
export async function fstabLine(etcRoot: string, mount: ShareMount, entry: MountEntry | undefined): Promise<{ text: string; existing: boolean }> {
  const fstab = await readFile(`${etcRoot}/fstab`, 'utf8').catch(() => '')
  for (const raw of fstab.split('\n')) {
    const f = raw.trim().split(/\s+/)
    if (raw.trim().startsWith('#') || f.length < 4 || unescapeMountField(f[1]) !== mount.mountPoint) continue
    const opts = f[3] === 'defaults' ? ['defaults'] : f[3].split(',')
    if (!opts.includes('fsc')) opts.push('fsc')
    return { text: [f[0], f[1], f[2], opts.join(','), f[4] ?? '0', f[5] ?? '0'].join(' '), existing: true }
  }
  const vers = mount.options.split(',').find((o) => o.startsWith('vers='))
  const opts = [...(entry?.options.split(',').includes('ro') ? ['ro'] : []), '_netdev', ...(vers ? [vers] : []), 'fsc']
  return { text: `${mount.source} ${mount.mountPoint.replace(/ /g, '\\040')} ${mount.fstype} ${opts.join(',')} 0 0`, existing: false }
}

/** The steps to turn FS-Cache on for this mount on this distribution, each a command to copy. */
export async function fscacheGuide(inputs: DoctorInputs, mount: ShareMount, entry: MountEntry | undefined, s: ShareStatus): Promise<FixStep[]> {
  const d = await distro(inputs.roots.etc)
  const family = [d.id, ...d.like]
  const debian = family.some((x) => x === 'debian' || x === 'ubuntu')
  const install = debian ? 'sudo apt-get install -y cachefilesd' : family.some((x) => ['fedora', 'rhel', 'centos'].includes(x)) ? 'sudo dnf install -y cachefilesd' : family.includes('arch') ? 'sudo pacman -S cachefilesd' : family.some((x) => x.includes('suse')) ? 'sudo zypper install cachefilesd' : 'install the cachefilesd package'
  const steps: FixStep[] = []
  if (!s.cachefilesd.installed) steps.push({ label: 'Install cachefilesd', command: install })
  if (debian) steps.push({ label: 'Let it start (Debian and Ubuntu ship it with RUN commented out)', command: "sudo sed -i 's/^#\\?RUN=.*/RUN=yes/' /etc/default/cachefilesd" })
  if (!s.cachefilesd.running || !(s.caches ?? []).some((c) => c.active)) steps.push({ label: 'Start it now and at boot', command: 'sudo systemctl enable --now cachefilesd' })
  if (!mount.fsc) {
    const line = await fstabLine(inputs.roots.etc, mount, entry)
    steps.push({ label: line.existing ? `Add fsc to the options of ${mount.mountPoint} in /etc/fstab: its line becomes` : `Add a line for ${mount.mountPoint} to /etc/fstab (it has none; this one adds fsc)`, command: line.text })
    steps.push({ label: 'Remount it (fsc is only read at mount time)', command: `sudo umount '${mount.mountPoint}' && sudo mount '${mount.mountPoint}'` })
  }
  return steps
}

async function hitRateNow(inputs: DoctorInputs, ring: ShareStatus['hitRate']): Promise<{ rate: number | null; hits: number; misses: number; over: string } | { reason: string }> {
  const recent = ring.filter((s) => s.atMs > Date.now() - 600_000)
  if (recent.length >= 2) {
    const hits = recent.reduce((s, x) => s + x.hits, 0)
    const misses = recent.reduce((s, x) => s + x.misses, 0)
    return { rate: hits + misses ? hits / (hits + misses) : null, hits, misses, over: `last ${Math.round((Date.now() - recent[0].atMs) / 60_000)} min` }
  }
  const a = await readCacheCounters(inputs.roots.proc)
  if ('reason' in a) return a
  await new Promise((r) => setTimeout(r, 1000))
  const b = await readCacheCounters(inputs.roots.proc)
  if ('reason' in b) return b
  const d = hitRateBetween(a.counters, b.counters)
  if (!d) return { reason: `${a.file}: counters went backwards (reset)` }
  return { rate: d.hitRate, hits: d.hits, misses: d.misses, over: `one second now (${a.counters.labels} in ${a.file})` }
}

export const sharesCheck: Check = {
  id: 'shares',
  async run(inputs) {
    const mounts = await inputs.mounts()
    if (!mounts.ok) return [unknownFinding('shares:unknown', 'shares', 'Network shares: unknown', mounts.reason, 'Without mountinfo Hearth cannot tell which models live on a network share.')]
    const s = await shareStatus(inputs, inputs.hitRateRing())
    const withModels = s.mounts.filter((m) => m.modelIds.length > 0)
    const fscacheEvidence: Evidence[] = [
      ev('cachefilesd', s.cachefilesd.installed ? `installed (${s.cachefilesd.path})${s.cachefilesd.running ? ', running' : ', not running'}` : 'not installed'),
      s.caches === null ? unknownEv('bound caches', s.notes.find((n) => n.includes('caches')) ?? 'unknown', `${inputs.roots.proc}/fs/fscache/caches`) : ev('bound caches', s.caches.length ? s.caches.map((c) => `${c.name} (${c.state})`).join(', ') : 'none', `${inputs.roots.proc}/fs/fscache/caches`),
    ]
    if (withModels.length === 0) {
      const files = await inputs.modelFiles()
      return [
        {
          id: 'shares:none',
          check: 'shares',
          status: 'ok',
          title: 'Network shares: not used here',
          evidence: [countEv('model files on nfs, nfs4, cifs or smb3', 0), countEv('model files looked at', files.length), countEv('network mounts on this machine', s.mounts.length), ...fscacheEvidence],
          why: 'No model is read over the network, so FS-Cache has nothing to do for Hearth.',
        },
      ]
    }
    const entries = mounts.value
    const active = (s.caches ?? []).some((c) => c.active)
    const hit = await hitRateNow(inputs, s.hitRate)
    const out: Finding[] = []
    for (const m of withModels) {
      const entry = entries.find((e) => e.mountPoint === m.mountPoint)
      const bytes = m.modelIds.reduce((t, id) => t + inputs.modelBytes(id), 0)
      const evidence: Evidence[] = [
        ev('mount', `${m.source} on ${m.mountPoint} (${m.fstype})`, `${inputs.roots.proc}/self/mountinfo`),
        ev('fsc in mount options', m.fsc ? 'yes' : 'no', `${inputs.roots.proc}/self/mountinfo`),
        ...fscacheEvidence,
        ...(s.conf ? [ev('cache directory', `${s.conf.dir} (brun ${s.conf.brun}%, bcull ${s.conf.bcull}%, bstop ${s.conf.bstop}%)`, s.conf.file)] : [unknownEv('cachefilesd.conf', s.notes.find((n) => n.includes('cachefilesd.conf')) ?? `${inputs.roots.etc}/cachefilesd.conf is missing`)]),
        ...(s.cacheFreePercent !== null ? [percentEv('cache directory free', s.cacheFreePercent)] : []),
        'reason' in hit ? unknownEv('FS-Cache read hit rate', hit.reason) : hit.rate === null ? ev('FS-Cache read hit rate', `no reads in the ${hit.over}`) : { ...percentEv(`FS-Cache read hit rate (${hit.over})`, hit.rate * 100), value: `${formatPercent(hit.rate)} (${hit.hits} from the cache, ${hit.misses} from the server)` },
        { label: `models on it (${m.modelIds.length})`, value: formatBytes(bytes), amount: bytes, unit: 'bytes' },
      ]
      const base = { check: 'shares', evidence, modelIds: m.modelIds }
      const guide = await fscacheGuide(inputs, m, entry, s)
      if (m.directReaders.length > 0) {
        out.push({
          ...base,
          id: `shares:direct:${m.mountPoint}`,
          status: 'warn',
          title: `${m.directReaders.map((r) => `${r.command} (pid ${r.pid})`).join(', ')} read${m.directReaders.length === 1 ? 's' : ''} models on ${m.mountPoint} with O_DIRECT: that bypasses FS-Cache`,
          why: 'Direct I/O skips both the page cache and FS-Cache: every load crosses the network whatever is cached. Stage the model (a RAM-disk copy serves the direct reads) or turn direct I/O off in the loader.',
          fix: { label: 'Stage these models in the RAM disk', action: { kind: 'stage', targets: m.modelIds }, command: `hearth stage ${m.modelIds.join(' ')}` },
        })
      }
      if (!m.fsc || !s.cachefilesd.running || !active) {
        out.push({
          ...base,
          id: `shares:fscache:${m.mountPoint}`,
          status: 'warn',
          title: !m.fsc ? `${m.mountPoint} (${m.fstype}) is mounted without fsc: FS-Cache is off for it` : `fsc is set on ${m.mountPoint}, but ${!s.cachefilesd.installed ? 'cachefilesd is not installed' : !s.cachefilesd.running ? 'cachefilesd is not running' : 'no cache is bound'}: nothing is cached`,
          why: `Without FS-Cache every cold load of these ${formatBytes(bytes)} crosses the network. With it, cachefilesd keeps a copy on local disk, so a load after the page cache dropped the model reads at local-disk speed.`,
          fix: { label: 'Enable FS-Cache for this mount', steps: guide },
        })
      } else if (s.conf && s.cacheFreePercent !== null && s.cacheFreePercent < s.conf.bcull) {
        const stopped = s.cacheFreePercent < s.conf.bstop
        out.push({
          ...base,
          id: `shares:cache-space:${m.mountPoint}`,
          status: stopped ? 'fail' : 'warn',
          title: stopped ? `The FS-Cache directory ${s.conf.dir} is below bstop (${s.cacheFreePercent.toFixed(1)}% free < ${s.conf.bstop}%): caching has stopped` : `The FS-Cache directory ${s.conf.dir} is culling (${s.cacheFreePercent.toFixed(1)}% free < bcull ${s.conf.bcull}%)`,
          why: stopped ? 'Below bstop cachefilesd stores nothing new: models read from the share are not cached.' : 'Culling discards cached files to make room: large models are pushed out of the cache quickly.',
          fix: { label: 'Free space on the cache disk, or lower the limits', steps: [{ label: 'See what fills it', command: `df -h '${s.conf.dir}' && sudo du -xsh '${s.conf.dir}'` }] },
        })
      } else {
        out.push({ ...base, id: `shares:fscache:${m.mountPoint}`, status: 'ok', title: `FS-Cache is on for ${m.mountPoint}`, why: 'Cold loads read from the local cache copy once a model has been read through the share.' })
      }
      const residency = await inputs.residency()
      const notWarm = m.modelIds.filter((id) => {
        const r = residency.find((x) => x.modelId === id)
        return !r || r.residentBytes + r.unknownBytes < 0.95 * r.bytes
      })
      if (notWarm.length > 0) {
        out.push({
          ...base,
          id: `shares:prewarm:${m.mountPoint}`,
          status: 'info',
          title: `Prewarm ${notWarm.length} model(s) through ${m.mountPoint}`,
          why: `Reading them now fills the page cache${m.fsc && active ? ' and the FS-Cache copy on local disk' : ''}, so the next load does not wait for the network.`,
          fix: { label: 'Prewarm through the share', action: { kind: 'warm', targets: notWarm }, command: `hearth warm ${notWarm.join(' ')}` },
          modelIds: notWarm,
        })
      }
    }
    return out
  },
}
