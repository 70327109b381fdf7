// Ollama's store: manifests/<registry>/<namespace>/<name>/<tag> (JSON) name layers by digest;
// the bytes live in blobs/sha256-<hex>. Tags whose weights are the same blobs are one model.
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileRole, SkippedEntry } from '../../../shared/api'
import { errnoReason, type WalkLimits } from './walk'
import type { Candidate, CandidateFile } from './group'

const roleOf: Record<string, FileRole> = {
  'application/vnd.ollama.image.model': 'weights',
  'application/vnd.ollama.image.projector': 'projector',
  'application/vnd.ollama.image.adapter': 'adapter',
}

interface Layer {
  mediaType?: unknown
  digest?: unknown
}

/** registry.ollama.ai/library/llama3.2:3b → llama3.2:3b; other registries keep their path. */
export function ollamaTag(parts: string[]): string {
  const [registry, namespace, ...rest] = parts
  const tag = rest.pop()
  const name = rest.join('/')
  if (registry === 'registry.ollama.ai') return namespace === 'library' ? `${name}:${tag}` : `${namespace}/${name}:${tag}`
  return `${registry}/${namespace}/${name}:${tag}`
}

export async function scanOllama(root: string, skipped: SkippedEntry[], limits: WalkLimits): Promise<{ candidates: Candidate[]; watchDirs: string[] }> {
  const manifests = join(root, 'manifests')
  const found: Array<{ path: string; parts: string[] }> = []
  const watchDirs: string[] = [manifests]
  let entries = 0
  async function walk(dir: string, parts: string[]): Promise<void> {
    let names: string[]
    try {
      names = (await readdir(dir)).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parts.length > 0) skipped.push({ path: dir, reason: errnoReason(err, 'this folder') })
      return
    }
    for (const n of names) {
      if (++entries > limits.maxEntries) {
        skipped.push({ path: manifests, reason: `stopped after ${limits.maxEntries} entries: too many manifests to read` })
        return
      }
      const p = join(dir, n)
      const st = await stat(p).catch((err: unknown) => err as NodeJS.ErrnoException)
      if (st instanceof Error) {
        skipped.push({ path: p, reason: errnoReason(st, 'this manifest') })
        continue
      }
      if (st.isDirectory()) {
        if (parts.length >= 5) continue
        watchDirs.push(p)
        await walk(p, [...parts, n])
      } else if (st.isFile() && parts.length >= 3) {
        found.push({ path: p, parts: [...parts, n] })
      }
    }
  }
  await walk(manifests, [])

  // Group tags by their weights blobs.
  const byWeights = new Map<string, { tags: string[]; files: CandidateFile[] }>()
  for (const m of found) {
    const tag = ollamaTag(m.parts)
    let layers: Layer[]
    try {
      const raw = await readFile(m.path, 'utf8')
      const parsed = JSON.parse(raw) as { layers?: unknown }
      if (!Array.isArray(parsed.layers)) throw new Error('it has no layers list')
      layers = parsed.layers as Layer[]
    } catch (err) {
      const why = err instanceof SyntaxError ? `not JSON (${err.message})` : err instanceof Error ? err.message : String(err)
      skipped.push({ path: m.path, reason: `malformed Ollama manifest for ${tag}: ${why} (re-pull with 'ollama pull ${tag}')` })
      continue
    }
    const files: CandidateFile[] = []
    let broken = false
    for (const l of layers) {
      const role = typeof l.mediaType === 'string' ? roleOf[l.mediaType] : undefined
      if (!role) continue
      if (typeof l.digest !== 'string' || !/^sha256[:-][0-9a-f]{64}$/.test(l.digest)) {
        skipped.push({ path: m.path, reason: `Ollama manifest for ${tag} has a layer without a valid digest` })
        broken = true
        break
      }
      const blob = join(root, 'blobs', `sha256-${l.digest.slice(7)}`)
      const st = await stat(blob).catch((err: unknown) => err as NodeJS.ErrnoException)
      if (st instanceof Error) {
        const reason = st.code === 'ENOENT' ? `blob missing: the manifest for ${tag} names it but it is not in blobs/ (re-pull with 'ollama pull ${tag}')` : errnoReason(st, 'this blob')
        skipped.push({ path: blob, reason })
        broken = true
        break
      }
      files.push({ path: blob, foundPath: blob, bytes: st.size, mtimeMs: st.mtimeMs, role })
    }
    if (broken) continue
    const weights = files.filter((f) => f.role === 'weights').map((f) => f.path)
    if (weights.length === 0) continue // embeddings-less manifests (e.g. a bare template) hold no model
    const key = weights.join('\n')
    const group = byWeights.get(key)
    if (group) {
      group.tags.push(tag)
      for (const f of files) if (!group.files.some((g) => g.path === f.path)) group.files.push(f)
    } else {
      byWeights.set(key, { tags: [tag], files })
    }
  }
  const candidates: Candidate[] = [...byWeights.entries()].map(([key, g]) => {
    const tags = g.tags.sort()
    return { source: 'ollama', root, name: tags[0], format: 'gguf', files: g.files, key: join(root, key), tags }
  })
  return { candidates, watchDirs }
}
