// One scan: every root → candidates → models with header facts. Never throws for bad input;
// each problem lands in `skipped` and the rest of the scan goes on.
import { stat } from 'node:fs/promises'
import type { Catalog, CatalogRoot, Model, ModelFile, SkippedEntry } from '../../../shared/api'
import { groupFolder, stableId, type Candidate } from './group'
import { HeaderCache, mapLimit, safetensorsFacts } from './facts'
import { isHfRepoDir, scanHfRepos } from './huggingface'
import { scanOllama } from './ollama'
import type { RootSpec } from './roots'
import { errnoReason, walkRoot, type WalkHooks, type WalkLimits } from './walk'

export interface ScanOptions extends WalkLimits {
  cache: HeaderCache
  hooks?: WalkHooks
  /** Header parses in flight at once */
  parseConcurrency: number
}

export interface ScanResult {
  catalog: Catalog
  /** Folders worth watching: roots first, then the folders that hold models */
  watchDirs: string[]
}

// llama.cpp's -hf downloads are named <org>_<repo>_<file>; repos of GGUFs end in -GGUF.
const llamaCacheRe = /^[^_]+_.+?-gguf_(.+)$/i

async function candidatesOf(root: RootSpec, skipped: SkippedEntry[], opts: ScanOptions): Promise<{ candidates: Candidate[]; watchDirs: string[] }> {
  if (root.layout === 'ollama') return scanOllama(root.path, skipped, opts)
  if (root.layout === 'huggingface') return scanHfRepos(root.path, root.source, skipped, opts, opts.hooks)
  const candidates: Candidate[] = []
  const watchDirs: string[] = []
  const byDir = await walkRoot(root.path, { ...opts, skipped, hooks: opts.hooks, skipDir: (n) => root.layout === 'llamacpp' && isHfRepoDir(n) })
  for (const [dir, files] of byDir) {
    watchDirs.push(dir)
    const nameOf = root.layout === 'llamacpp' ? (stem: string) => llamaCacheRe.exec(stem)?.[1] ?? stem : undefined
    candidates.push(...(await groupFolder(dir, files, { source: root.source, root: root.path, skipped, nameOf })))
  }
  // Newer llama.cpp keeps -hf downloads in the hub cache layout inside LLAMA_CACHE.
  if (root.layout === 'llamacpp') {
    const hf = await scanHfRepos(root.path, root.source, skipped, opts, opts.hooks)
    candidates.push(...hf.candidates)
    watchDirs.push(...hf.watchDirs)
  }
  return { candidates, watchDirs }
}

/** Header facts for a candidate, or the reason it is not a model. */
async function toModel(c: Candidate, cache: HeaderCache): Promise<{ model?: Model; skip?: SkippedEntry }> {
  const weights = c.files.filter((f) => f.role === 'weights')
  const files: ModelFile[] = c.files.map((f) => ({ path: f.path, bytes: f.bytes, role: f.role }))
  const seen = new Set<string>()
  const bytes = c.files.reduce((a, f) => (seen.has(f.path) ? a : (seen.add(f.path), a + f.bytes)), 0)
  const model: Model = { id: stableId(c.source, c.name, c.key), name: c.name, source: c.source, format: c.format, root: c.root, bytes, files }
  if (c.tags) model.tags = c.tags
  if (c.format === 'gguf') {
    const parseList = weights.length > 0 ? weights : c.files
    let parameters = 0
    for (const [i, f] of parseList.entries()) {
      const r = await cache.ggufOf(f.path, f.bytes, f.mtimeMs)
      if (!r.ok) return { skip: { path: f.foundPath, reason: r.reason } }
      // Each shard's header lists only its own tensors: the model's count is their sum.
      parameters += r.value.facts.parameters
      if (i === 0) model.gguf = { ...r.value.facts }
    }
    if (model.gguf) model.gguf.parameters = parameters
  } else if (c.format === 'safetensors') {
    const per: Array<Record<string, number>> = []
    for (const f of weights.length > 0 ? weights : c.files) {
      const r = await cache.safetensorsOf(f.path, f.bytes, f.mtimeMs)
      if (!r.ok) return { skip: { path: f.foundPath, reason: r.reason } }
      per.push(r.value)
    }
    model.safetensors = safetensorsFacts(per)
  }
  return { model }
}

export async function scanRoots(roots: RootSpec[], opts: ScanOptions): Promise<ScanResult> {
  const started = Date.now()
  const skipped: SkippedEntry[] = []
  const rootStats: CatalogRoot[] = []
  const all: Array<{ c: Candidate; rootIndex: number }> = []
  const watchDirs: string[] = []
  for (const [i, root] of roots.entries()) {
    const st = await stat(root.path).catch((err: unknown) => err as NodeJS.ErrnoException)
    const exists = !(st instanceof Error) && st.isDirectory()
    rootStats.push({ source: root.source, path: root.path, exists, origin: root.origin, models: 0 })
    if (st instanceof Error) {
      if (st.code !== 'ENOENT' && st.code !== 'ENOTDIR') skipped.push({ path: root.path, reason: errnoReason(st, 'this folder') })
      continue
    }
    if (!exists) {
      skipped.push({ path: root.path, reason: 'not a folder; add the folder that holds the model files' })
      continue
    }
    watchDirs.push(root.path)
    try {
      const r = await candidatesOf(root, skipped, opts)
      for (const c of r.candidates) all.push({ c, rootIndex: i })
      watchDirs.push(...r.watchDirs)
    } catch (err) {
      // A bug or an odd filesystem in one root must not cost the user the others.
      skipped.push({ path: root.path, reason: `scan of this folder failed: ${err instanceof Error ? err.message : String(err)}` })
    }
  }

  // A file reachable from two roots (an added folder holding LM Studio's) is listed once, under
  // the first root in precedence order.
  const claimed = new Set<string>()
  const unique = all.filter(({ c }) => {
    const w = c.files.filter((f) => f.role === 'weights').map((f) => f.path)
    if (w.length > 0 && w.every((p) => claimed.has(p))) return false
    for (const p of w) claimed.add(p)
    return true
  })

  const results = await mapLimit(unique, opts.parseConcurrency, ({ c }) => toModel(c, opts.cache))
  const models: Model[] = []
  for (const [k, r] of results.entries()) {
    if (r.skip) skipped.push(r.skip)
    if (!r.model) continue
    models.push(r.model)
    rootStats[unique[k].rootIndex].models++
  }
  // Two candidates may still derive the same id (a file and its hard link); keep ids unique.
  const ids = new Set<string>()
  for (const m of models) {
    let id = m.id
    for (let n = 2; ids.has(id); n++) id = `${m.id}-${n}`
    m.id = id
    ids.add(id)
  }
  models.sort((a, b) => a.source.localeCompare(b.source) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  opts.cache.retain(new Set(unique.flatMap(({ c }) => c.files.map((f) => f.path))))
  return {
    catalog: { models, skipped, roots: rootStats, scannedAtMs: Date.now(), scanMs: Date.now() - started },
    watchDirs: [...new Set(watchDirs)],
  }
}
