// Header facts of model files, read with bounded reads only (never the weights), cached by
// (path, size, mtime) so a rescan of an unchanged tree parses nothing again.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { GgufFacts, SafetensorsFacts } from '../../../shared/api'
import { GgufTruncatedError, ggufFacts, readGgufHeader, type GgufHeader } from '../gguf/read-gguf'
import { readRangeUncached } from '../../sys/direct-read'
import { ggmlBlock, tensorBytes } from '../../../shared/planner/ggml-types'

/** Bytes the header says the file holds; undefined when a tensor type is unknown to us. */
export function ggufExpectedBytes(h: GgufHeader): number | undefined {
  let end = 0
  for (const t of h.tensors) {
    if (!ggmlBlock[t.type]) return undefined
    end = Math.max(end, t.offset + tensorBytes(t.shape, t.type))
  }
  return h.tensorDataOffset + end
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

export interface GgufFileFacts {
  facts: GgufFacts
  /** split.count, when the file is a shard */
  splitCount?: number
}

/** Reads a GGUF header and checks the file is as long as the header says. */
export async function parseGguf(path: string, bytes: number): Promise<Parsed<GgufFileFacts>> {
  let h: GgufHeader
  try {
    h = await readGgufHeader(path)
  } catch (err) {
    if (err instanceof GgufTruncatedError) return { ok: false, reason: err.message }
    const msg = err instanceof Error ? err.message : String(err)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { ok: false, reason: 'vanished during the scan' }
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, reason: 'cannot read this file: permission denied' }
    if (/magic number|magic bytes|not a GGUF/i.test(msg)) return { ok: false, reason: 'not a GGUF file (bad magic): the name ends in .gguf but the content is something else' }
    if (/maximum chunk fetches|RangeError|outside the bounds|Offset is outside/i.test(msg) || err instanceof RangeError) {
      return { ok: false, reason: `truncated GGUF: the file (${bytes} bytes) ends inside its header (an interrupted download?)` }
    }
    if (/cannot fit|parameter count/i.test(msg)) return { ok: false, reason: `truncated GGUF: the header describes more data than the file's ${bytes} bytes (an interrupted download?)` }
    return { ok: false, reason: `unreadable GGUF header: ${msg}` }
  }
  const expected = ggufExpectedBytes(h)
  if (expected !== undefined && bytes < expected) {
    return { ok: false, reason: `truncated GGUF: the header describes ${expected} bytes, the file has ${bytes} (an interrupted download?)` }
  }
  const split = h.metadata['split.count']
  return { ok: true, value: { facts: ggufFacts(h), splitCount: typeof split === 'number' ? split : undefined } }
}

// Real safetensors headers are a few MB at most; a larger length means it is not one.
const maxSafetensorsHeaderBytes = 100 * 1024 * 1024

/** Dtype → parameter count, from the 8-byte-length JSON header of one safetensors file. */
export async function parseSafetensors(path: string, bytes: number): Promise<Parsed<Record<string, number>>> {
  try {
    // Uncached reads: scanning must not change the residency Hearth shows.
    const first = await readRangeUncached(path, 0, 8)
    const got = first.data.length
    const lenBuf = Buffer.from(first.data)
    if (got < 8) return { ok: false, reason: `truncated safetensors: ${bytes} bytes is too short for a header` }
    const n = Number(lenBuf.readBigUInt64LE())
    if (n > maxSafetensorsHeaderBytes || n < 2) return { ok: false, reason: 'not a safetensors file (header length out of range)' }
    if (8 + n > bytes) return { ok: false, reason: `truncated safetensors: the header needs ${8 + n} bytes, the file has ${bytes}` }
    const buf = Buffer.from((await readRangeUncached(path, 8, n)).data)
    const header = JSON.parse(buf.toString('utf8')) as Record<string, { dtype?: string; shape?: number[]; data_offsets?: number[] }>
    const byDtype: Record<string, number> = {}
    let end = 0
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__' || !t || typeof t.dtype !== 'string' || !Array.isArray(t.shape)) continue
      byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + t.shape.reduce((a, x) => a * x, 1)
      if (Array.isArray(t.data_offsets)) end = Math.max(end, Number(t.data_offsets[1]) || 0)
    }
    if (8 + n + end > bytes) return { ok: false, reason: `truncated safetensors: the header describes ${8 + n + end} bytes, the file has ${bytes}` }
    return { ok: true, value: byDtype }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') return { ok: false, reason: 'vanished during the scan' }
    if (err instanceof SyntaxError) return { ok: false, reason: `not a safetensors file (header is not JSON: ${err.message})` }
    return { ok: false, reason: `unreadable safetensors header: ${e.code ?? e.message}` }
  }
}

export function safetensorsFacts(perShard: Array<Record<string, number>>): SafetensorsFacts {
  const total: Record<string, number> = {}
  for (const s of perShard) for (const [d, n] of Object.entries(s)) total[d] = (total[d] ?? 0) + n
  let dtype = 'unknown'
  let most = -1
  let parameters = 0
  for (const [d, n] of Object.entries(total)) {
    parameters += n
    if (n > most) [dtype, most] = [d, n]
  }
  return { dtype, parameters }
}

/** Caches parse results by (path, size, mtime); lives as long as the catalog service. */
type Entry<T> = { key: string; result: Promise<Parsed<T>> }
type StoredEntry<T> = { key: string; result: Parsed<T> }
interface StoredHeaders {
  version: 1
  gguf: Record<string, StoredEntry<GgufFileFacts>>
  st: Record<string, StoredEntry<Record<string, number>>>
}

/** Outcomes that say nothing lasting about the file's bytes (a permission can change, a file come back). */
const passing = (r: Parsed<unknown>) => !r.ok && /vanished|permission/.test(r.reason)

export class HeaderCache {
  private gguf = new Map<string, Entry<GgufFileFacts>>()
  private st = new Map<string, Entry<Record<string, number>>>()
  parses = 0
  /** Parsed since the last save */
  private dirty = false

  /**
   * Takes in what an earlier process saved (every CLI command is a new process that scans: read
   * again, each header cost tens of milliseconds, far more on a network share). Entries are
   * keyed by size and mtime like the ones parsed here; a file unreadable as JSON is ignored.
   */
  async load(file: string): Promise<void> {
    let stored: StoredHeaders
    try {
      stored = JSON.parse(await readFile(file, 'utf8')) as StoredHeaders
    } catch {
      return
    }
    if (stored?.version !== 1) return
    const take = <T>(m: Map<string, Entry<T>>, from: Record<string, StoredEntry<T>> | undefined) => {
      for (const [path, e] of Object.entries(from ?? {})) {
        const ok = typeof e?.key === 'string' && typeof e.result?.ok === 'boolean' && (e.result.ok ? typeof e.result.value === 'object' : typeof e.result.reason === 'string')
        if (ok && !m.has(path)) m.set(path, { key: e.key, result: Promise.resolve(e.result) })
      }
    }
    take(this.gguf, stored.gguf)
    take(this.st, stored.st)
  }

  /** Writes what is known (atomically: a reader never sees half a file), when anything new was parsed. */
  async save(file: string): Promise<void> {
    if (!this.dirty) return
    this.dirty = false
    const dump = async <T>(m: Map<string, Entry<T>>) => {
      const out: Record<string, StoredEntry<T>> = {}
      for (const [path, e] of m) {
        const result = await e.result
        if (!passing(result)) out[path] = { key: e.key, result }
      }
      return out
    }
    const stored: StoredHeaders = { version: 1, gguf: await dump(this.gguf), st: await dump(this.st) }
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(stored), { mode: 0o600 })
    await rename(tmp, file)
  }

  ggufOf(path: string, bytes: number, mtimeMs: number): Promise<Parsed<GgufFileFacts>> {
    return this.memo(this.gguf, path, bytes, mtimeMs, () => parseGguf(path, bytes))
  }

  safetensorsOf(path: string, bytes: number, mtimeMs: number): Promise<Parsed<Record<string, number>>> {
    return this.memo(this.st, path, bytes, mtimeMs, () => parseSafetensors(path, bytes))
  }

  /** Forget files not seen in the last scan so the cache does not grow without bound. */
  retain(paths: Set<string>): void {
    for (const m of [this.gguf, this.st] as Array<Map<string, unknown>>) {
      for (const k of m.keys()) {
        if (paths.has(k)) continue
        m.delete(k)
        this.dirty = true
      }
    }
  }

  private memo<T>(m: Map<string, { key: string; result: Promise<Parsed<T>> }>, path: string, bytes: number, mtimeMs: number, parse: () => Promise<Parsed<T>>) {
    const key = `${bytes}:${mtimeMs}`
    const hit = m.get(path)
    if (hit && hit.key === key) return hit.result
    this.parses++
    this.dirty = true
    const result = parse()
    m.set(path, { key, result })
    // A vanished file may come back; do not remember that.
    void result.then((r) => {
      if (!r.ok && /vanished/.test(r.reason)) m.delete(path)
    })
    return result
  }
}

/** Runs fn over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
