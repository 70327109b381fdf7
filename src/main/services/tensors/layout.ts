// Where every tensor of a GGUF model lies: one header read per file (each shard of a split model
// has its own header and tensor data offset), cached by path, size and mtime, so a live view asks
// only the kernel again on each refresh.
import { stat } from 'node:fs/promises'
import type { TensorFile, TensorInfo } from '../../../shared/contract/tensors'
import { HearthError } from '../../../shared/errors'
import { kindOf, layerOf } from '../../../shared/tensors/classify'
import { readGgufHeader, tensorRanges, type GgufValue } from '../gguf/read-gguf'

export interface TensorLayout {
  /** general.name of the first file, when it has one */
  modelName?: string
  files: TensorFile[]
  /** By file, then offset */
  tensors: TensorInfo[]
  blockCount: number
  expertCount?: number
}

interface ParsedFile {
  key: string
  file: TensorFile
  tensors: Omit<TensorInfo, 'file'>[]
  metadata: Record<string, GgufValue>
}

const cache = new Map<string, ParsedFile>()
const maxCached = 64

async function parseFile(path: string): Promise<ParsedFile> {
  let st
  try {
    st = await stat(path)
  } catch (err) {
    throw new HearthError('NOT_FOUND', `${path}: ${(err as Error).message}; check the path or run \`hearth models\``)
  }
  const key = `${path}\0${st.size}\0${st.mtimeMs}`
  const hit = cache.get(key)
  if (hit) return hit
  let parsed: ParsedFile
  try {
    const h = await readGgufHeader(path)
    const tensors = tensorRanges(h, st.size)
      .sort((a, b) => a.start - b.start)
      .map((t) => {
        const kind = kindOf(t.name)
        const info: Omit<TensorInfo, 'file'> = { name: t.name, layer: layerOf(t.name), kind, offset: t.start, bytes: t.bytes, type: t.typeName, shape: t.shape }
        // Stacked experts [ne0, ne1, n_expert]: each expert's matrix is one contiguous slice.
        if (kind === 'experts' && t.shape.length === 3 && t.shape[2] > 1) info.experts = t.shape[2]
        return info
      })
    parsed = { key, file: { path, bytes: st.size, tensorDataOffset: h.tensorDataOffset }, tensors, metadata: h.metadata }
  } catch (err) {
    if (err instanceof HearthError) throw err
    throw new HearthError('BAD_INPUT', `${path} is not a readable GGUF file (${(err as Error).message}); the tensor map reads GGUF models only`)
  }
  for (const k of cache.keys()) if (k.startsWith(`${path}\0`)) cache.delete(k)
  if (cache.size >= maxCached) cache.delete(cache.keys().next().value!)
  cache.set(key, parsed)
  return parsed
}

const numberOf = (v: GgufValue | undefined): number | undefined => (typeof v === 'number' ? v : Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined)

/** The layout of a model made of these GGUF files (shards in order). */
export async function tensorLayout(paths: string[]): Promise<TensorLayout> {
  const parsed = await Promise.all(paths.map(parseFile))
  const tensors: TensorInfo[] = parsed.flatMap((p, file) => p.tensors.map((t) => ({ ...t, file })))
  const md = parsed[0]?.metadata ?? {}
  const arch = typeof md['general.architecture'] === 'string' ? md['general.architecture'] : ''
  const blocks = numberOf(md[`${arch}.block_count`]) ?? 0
  const blockCount = Math.max(blocks, ...tensors.map((t) => (t.layer ?? -1) + 1))
  const layout: TensorLayout = { files: parsed.map((p) => p.file), tensors, blockCount }
  const experts = numberOf(md[`${arch}.expert_count`]) ?? Math.max(0, ...tensors.map((t) => t.experts ?? 0))
  if (experts > 0) layout.expertCount = experts
  if (typeof md['general.name'] === 'string' && md['general.name']) layout.modelName = md['general.name']
  return layout
}
