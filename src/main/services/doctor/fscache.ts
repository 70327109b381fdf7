// Parsers for FS-Cache and netfs state: the stats files (whose labels changed across kernel
// versions, so they are read as "Section: key=value" pairs and the hit/miss counters looked up by
// every name they have had), /proc/fs/fscache/caches, and cachefilesd.conf.

/** "Section : k=v k=v" lines → "Section.k" → value. The first of a repeated key wins. */
export function parseStatsPairs(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const section = line.slice(0, colon).trim()
    for (const m of line.slice(colon + 1).matchAll(/([A-Za-z0-9_]+)=(-?\d+)/g)) {
      const key = `${section}.${m[1]}`
      if (!out.has(key)) out.set(key, Number(m[2]))
    }
  }
  return out
}

/**
 * Cache hits and server reads, by the names each kernel gave them:
 * ≤5.16 fscache: Retrvls ok= (served from the cache) and nod= (no data: read from the server);
 * 5.17 netfs helper: RdHelp/Netfs RD= (cache reads) and DL= (downloads);
 * 6.9+ /proc/fs/netfs/stats: CaRdOps RD= and DownOps DL=.
 */
const hitKeys = ['CaRdOps.RD', 'Netfs.RD', 'RdHelp.RD', 'Retrvls.ok']
const missKeys = ['DownOps.DL', 'Netfs.DL', 'RdHelp.DL', 'Retrvls.nod']

export interface CacheCounters {
  hits: number
  misses: number
  /** Which names were found ("CaRdOps.RD/DownOps.DL") */
  labels: string
}

export function cacheCounters(pairs: Map<string, number>): CacheCounters | null {
  const hit = hitKeys.find((k) => pairs.has(k))
  const miss = missKeys.find((k) => pairs.has(k))
  if (!hit || !miss) return null
  return { hits: pairs.get(hit)!, misses: pairs.get(miss)!, labels: `${hit}/${miss}` }
}

/** Hit rate between two readings (counters only grow; a reset gives null). */
export function hitRateBetween(a: CacheCounters, b: CacheCounters): { hits: number; misses: number; hitRate: number | null } | null {
  const hits = b.hits - a.hits
  const misses = b.misses - a.misses
  if (hits < 0 || misses < 0) return null
  return { hits, misses, hitRate: hits + misses > 0 ? hits / (hits + misses) : null }
}

export interface FscacheCache {
  id: string
  name: string
  /** '-' absent, P preparing, A active, E failed, W withdrawn */
  state: string
  objects: number
}

const stateNames: Record<string, string> = { '-': 'not present', P: 'preparing', A: 'active', E: 'failed (I/O error)', W: 'withdrawn' }
export const cacheStateName = (s: string) => stateNames[s] ?? `state ${s}`

/** /proc/fs/fscache/caches (5.17+); null when it has no header. */
export function parseCaches(text: string): FscacheCache[] | null {
  const lines = text.split('\n')
  if (!/^CACHE\s+REF/.test(lines[0] ?? '')) return null
  const out: FscacheCache[] = []
  for (const line of lines.slice(1)) {
    const m = /^([0-9a-f]{8})\s+\d+\s+\d+\s+(\d+)\s+\d+\s+(\S)\s+(.*)$/.exec(line)
    if (m) out.push({ id: m[1], objects: Number(m[2]), state: m[3], name: m[4].trim() })
  }
  return out
}

export interface CachefilesdConf {
  dir: string
  tag: string | null
  brun: number
  bcull: number
  bstop: number
  frun: number
  fcull: number
  fstop: number
  /** Limits that fell back to cachefilesd's defaults, and ordering problems */
  notes: string[]
}

/** /etc/cachefilesd.conf; null without the mandatory `dir`. Defaults per cachefilesd.conf(5): 7/5/1%. */
export function parseCachefilesdConf(text: string): CachefilesdConf | null {
  const v = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    const m = /^(\S+)\s+(.+)$/.exec(line)
    if (m) v.set(m[1], m[2].trim())
  }
  const dir = v.get('dir')
  if (!dir) return null
  const notes: string[] = []
  const pct = (k: string, dflt: number) => {
    const s = v.get(k)
    if (s === undefined) return dflt
    const m = /^(\d+(?:\.\d+)?)%?$/.exec(s)
    if (!m) {
      notes.push(`${k} ${JSON.stringify(s)} is not a percentage; cachefilesd would refuse to start`)
      return dflt
    }
    return Number(m[1])
  }
  const conf = {
    dir,
    tag: v.get('tag') ?? null,
    brun: pct('brun', 7),
    bcull: pct('bcull', 5),
    bstop: pct('bstop', 1),
    frun: pct('frun', 7),
    fcull: pct('fcull', 5),
    fstop: pct('fstop', 1),
    notes,
  }
  if (!(conf.bstop < conf.bcull && conf.bcull < conf.brun && conf.brun < 100)) notes.push(`block limits must satisfy bstop < bcull < brun < 100 (have ${conf.bstop}/${conf.bcull}/${conf.brun})`)
  return conf
}
