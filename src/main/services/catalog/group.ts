// Turns the model-ish files of one folder into model candidates: split GGUF shards become one
// model, mmproj files join the models beside them, a folder of safetensors is one model.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { FileRole, ModelFormat, ModelSource, SkippedEntry } from '../../../shared/api'
import type { FoundFile } from './walk'

export interface CandidateFile {
  /** Reported path: the real file (symlinks resolved), the bytes that get cached */
  path: string
  /** The path as found (a snapshot link in the HF cache), for resolve() */
  foundPath: string
  bytes: number
  mtimeMs: number
  role: FileRole
}

export interface Candidate {
  source: ModelSource
  root: string
  name: string
  format: ModelFormat
  files: CandidateFile[]
  /** Canonical location the id is derived from: independent of scan order and revisions */
  key: string
  tags?: string[]
}

const splitRe = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i
const projectorRe = /mmproj/i
// File names that say nothing about the model; the folder's name does.
const genericStemRe = /^(model|ggml-model(-[\w.]+)?|consolidated(\.\d+)?|weights)$/i

export function stableId(source: ModelSource, name: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8)
  const slug = name.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48)
  return `${source}:${slug ? `${slug}-` : ''}${hash}`
}

const asFile = (f: FoundFile, role: FileRole): CandidateFile => ({ path: f.realPath, foundPath: f.path, bytes: f.bytes, mtimeMs: f.mtimeMs, role })

export interface GroupContext {
  source: ModelSource
  root: string
  skipped: SkippedEntry[]
  /** Display name for a GGUF stem (llama.cpp strips its org_repo_ prefix) */
  nameOf?: (stem: string, dir: string) => string
  /** Name for a safetensors folder (the HF repo id) */
  folderName?: (dir: string) => string
  /** Key prefix: the canonical folder (HF: the repo, not the revision) */
  keyOf?: (dir: string) => string
}

export async function groupFolder(dir: string, files: FoundFile[], ctx: GroupContext): Promise<Candidate[]> {
  const out: Candidate[] = []
  const keyDir = ctx.keyOf?.(dir) ?? dir
  const ggufs = files.filter((f) => /\.gguf$/i.test(f.name))
  const projectors = ggufs.filter((f) => projectorRe.test(f.name))
  const weights = ggufs.filter((f) => !projectorRe.test(f.name))

  const groups = new Map<string, { stem: string; shards: FoundFile[]; count: number }>()
  for (const f of weights) {
    const m = splitRe.exec(f.name)
    const stem = m ? m[1] : f.name.replace(/\.gguf$/i, '')
    const g = groups.get(stem) ?? { stem, shards: [], count: m ? Number(m[3]) : 1 }
    g.shards.push(f)
    groups.set(stem, g)
  }
  const nameFor = (stem: string) => {
    const n = ctx.nameOf ? ctx.nameOf(stem, dir) : stem
    return genericStemRe.test(n) ? basename(dir) : n
  }
  for (const g of groups.values()) {
    g.shards.sort((a, b) => a.name.localeCompare(b.name))
    if (g.count > 1 && g.shards.length < g.count) {
      ctx.skipped.push({ path: join(dir, `${g.stem}-*-of-${String(g.count).padStart(5, '0')}.gguf`), reason: `split model has ${g.shards.length} of ${g.count} shards; listed with the shards present (finish the download to load it)` })
    }
    out.push({
      source: ctx.source,
      root: ctx.root,
      name: nameFor(g.stem),
      format: 'gguf',
      files: [...g.shards.map((f) => asFile(f, 'weights')), ...projectors.map((f) => asFile(f, 'projector'))],
      key: join(keyDir, g.stem),
    })
  }
  // A folder holding only projectors: list them, so their bytes are not invisible.
  if (groups.size === 0) {
    for (const p of projectors) out.push({ source: ctx.source, root: ctx.root, name: nameFor(p.name.replace(/\.gguf$/i, '')), format: 'gguf', files: [asFile(p, 'projector')], key: join(keyDir, p.name) })
  }

  const st = files.filter((f) => /\.safetensors$/i.test(f.name))
  // Indexes are read even when no shard is here, so a malformed one is reported.
  const listed = await shardsFromIndexes(dir, files, ctx.skipped)
  if (st.length > 0) {
    const chosen = listed ? st.filter((f) => listed.has(f.name) || /^adapter_model/i.test(f.name)) : st
    if (listed) {
      const present = new Set(st.map((f) => f.name))
      for (const name of listed) if (!present.has(name)) ctx.skipped.push({ path: join(dir, name), reason: 'shard listed in the safetensors index is missing (an incomplete download?)' })
    }
    if (chosen.length > 0) {
      out.push({
        source: ctx.source,
        root: ctx.root,
        name: ctx.folderName?.(dir) ?? basename(dir),
        format: 'safetensors',
        files: chosen.sort((a, b) => a.name.localeCompare(b.name)).map((f) => asFile(f, /^adapter_model/i.test(f.name) ? 'adapter' : 'weights')),
        key: join(keyDir, '*.safetensors'),
      })
    }
  }
  return out
}

/** The shard names the folder's *.safetensors.index.json files list; undefined when none parses. */
async function shardsFromIndexes(_dir: string, files: FoundFile[], skipped: SkippedEntry[]): Promise<Set<string> | undefined> {
  let names: Set<string> | undefined
  for (const idx of files.filter((f) => /\.safetensors\.index\.json$/i.test(f.name))) {
    try {
      if (idx.bytes > 64 * 1024 * 1024) throw new Error('larger than 64 MiB')
      const parsed = JSON.parse(await readFile(idx.path, 'utf8')) as { weight_map?: Record<string, unknown> }
      if (!parsed || typeof parsed.weight_map !== 'object' || parsed.weight_map === null) throw new Error('no weight_map')
      names ??= new Set()
      for (const v of Object.values(parsed.weight_map)) if (typeof v === 'string') names.add(basename(v))
    } catch (err) {
      skipped.push({ path: idx.path, reason: `malformed safetensors index (${err instanceof Error ? err.message : String(err)}); listing the shards found beside it instead` })
    }
  }
  return names
}
