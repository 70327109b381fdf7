// Ollama's settings that decide caching: where models live (OLLAMA_MODELS), how long a model stays
// loaded (OLLAMA_KEEP_ALIVE), and the systemd unit's memory limits (MemoryMax caps the page cache
// of everything the service reads). From `systemctl show`, or the unit files when systemd is not
// answering.
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface UnitSettings {
  /** Where the values came from (a command or files) */
  source: string
  loaded: boolean
  memoryMaxBytes: number | null
  memoryHighBytes: number | null
  environment: Map<string, string>
  limitMemlock: string | null
}

/** systemd sizes: bytes, K/M/G/T suffixes (1024-based), "infinity"; a percentage of RAM. */
export function parseSystemdSize(v: string, memTotalBytes: number | null): number | null | undefined {
  const t = v.trim()
  if (t === '' || t === 'infinity') return null
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t)
  if (pct) return memTotalBytes === null ? undefined : Math.round((Number(pct[1]) / 100) * memTotalBytes)
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]?)$/i.exec(t)
  if (!m) return undefined
  const mult = 1024 ** ' KMGTPE'.indexOf(m[2].toUpperCase() || ' ')
  const n = Number(m[1]) * mult
  return n >= 2 ** 63 - 2 ** 12 ? null : n
}

/** Environment= values: space-separated assignments, optionally double-quoted. */
export function parseEnvironmentLine(v: string, into = new Map<string, string>()): Map<string, string> {
  for (const m of v.matchAll(/"([^"=]+)=([^"]*)"|([^\s"=]+)=(\S*)/g)) into.set(m[1] ?? m[3], m[2] ?? m[4])
  return into
}

/** [Service] keys of unit files read in order (later files override; "Environment=" empty resets). */
export function parseUnitFiles(texts: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const text of texts) {
    let section = ''
    for (const raw of text.split('\n')) {
      const line = raw.trim()
      if (line.startsWith('#') || line.startsWith(';') || line === '') continue
      const sec = /^\[(.+)\]$/.exec(line)
      if (sec) {
        section = sec[1]
        continue
      }
      const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line)
      if (!kv || section !== 'Service') continue
      if (kv[2] === '') out.delete(kv[1])
      else out.set(kv[1], [...(out.get(kv[1]) ?? []), kv[2]])
    }
  }
  return out
}

function run(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((ok) => execFile(cmd, args, { timeout: 3000 }, (err, stdout) => ok(err ? null : stdout)))
}

export async function ollamaUnit(etcRoot: string, memTotalBytes: number | null, useSystemctl = true): Promise<UnitSettings | null> {
  const shown = useSystemctl ? await run('systemctl', ['show', 'ollama.service', '-p', 'LoadState,MemoryMax,MemoryHigh,Environment,LimitMEMLOCK']) : null
  if (shown !== null) {
    const kv = new Map(shown.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]))
    if (kv.get('LoadState') === 'loaded') {
      return {
        source: 'systemctl show ollama.service',
        loaded: true,
        memoryMaxBytes: parseSystemdSize(kv.get('MemoryMax') ?? '', memTotalBytes) ?? null,
        memoryHighBytes: parseSystemdSize(kv.get('MemoryHigh') ?? '', memTotalBytes) ?? null,
        environment: parseEnvironmentLine(kv.get('Environment') ?? ''),
        limitMemlock: kv.get('LimitMEMLOCK') ?? null,
      }
    }
  }
  const dir = join(etcRoot, 'systemd', 'system')
  const main = await readFile(join(dir, 'ollama.service'), 'utf8').catch(() => null)
  const dropDir = join(dir, 'ollama.service.d')
  const drops = (await readdir(dropDir).catch(() => [] as string[])).filter((f) => f.endsWith('.conf')).sort()
  const dropTexts = await Promise.all(drops.map((f) => readFile(join(dropDir, f), 'utf8').catch(() => '')))
  if (main === null && dropTexts.length === 0) return null
  const keys = parseUnitFiles([main ?? '', ...dropTexts])
  const last = (k: string) => keys.get(k)?.at(-1) ?? ''
  const env = new Map<string, string>()
  for (const e of keys.get('Environment') ?? []) parseEnvironmentLine(e, env)
  return {
    source: [join(dir, 'ollama.service'), ...drops.map((f) => join(dropDir, f))].join(', '),
    loaded: main !== null,
    memoryMaxBytes: parseSystemdSize(last('MemoryMax') || last('MemoryLimit'), memTotalBytes) ?? null,
    memoryHighBytes: parseSystemdSize(last('MemoryHigh'), memTotalBytes) ?? null,
    environment: env,
    limitMemlock: last('LimitMEMLOCK') || null,
  }
}

/** OLLAMA_KEEP_ALIVE as seconds (Go durations and plain seconds; negative: forever); undefined when unparsable. */
export function keepAliveSeconds(v: string): number | undefined {
  const t = v.trim()
  if (/^-?\d+$/.test(t)) return Number(t) < 0 ? Infinity : Number(t)
  let total = 0
  let matched = ''
  for (const m of t.matchAll(/(-?\d+(?:\.\d+)?)(h|m|s|ms)/g)) {
    matched += m[0]
    total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms']
  }
  if (matched !== t || t === '') return undefined
  return total < 0 ? Infinity : total
}
