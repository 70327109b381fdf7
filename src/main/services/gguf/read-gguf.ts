// Reads a GGUF file's header (metadata and tensor infos) without touching its weights.
// @huggingface/gguf does the parsing with ranged reads of the local file.
import type { GgufFacts } from '../../../shared/api'
import { tensorBytes } from '../../../shared/planner/ggml-types'
import { readRangeUncached } from '../../sys/direct-read'

// Loaded on first parse: the library costs tens of milliseconds to import, which every CLI
// command would pay even when it reads no header (`hearth status FILE`, `hearth warm FILE`).
let lib: typeof import('@huggingface/gguf') | undefined
async function ggufLib(): Promise<typeof import('@huggingface/gguf')> {
  return (lib ??= await import('@huggingface/gguf'))
}

export type GgufValue = string | number | boolean | GgufValue[]

export interface GgufTensor {
  name: string
  /** Dimensions as GGUF stores them: ne[0] (the row length) first */
  shape: number[]
  /** ggml_type number (0 F32, 1 F16, 8 Q8_0, 12 Q4_K, 14 Q6_K …) */
  type: number
  /** Offset of its data, relative to the start of the tensor data section */
  offset: number
}

export interface GgufHeader {
  version: number
  metadata: Record<string, GgufValue>
  tensors: GgufTensor[]
  tensorDataOffset: number
  parameterCount: number
}

const toNum = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v)

function plain(v: unknown): GgufValue {
  if (Array.isArray(v)) return v.map(plain)
  return toNum(v) as GgufValue
}

/**
 * A GGUF that ends inside its header (an interrupted download): where it ends, and in which part.
 * The library reads past the end as zeros and returns a header of empty keys and tensors, so
 * without this check such a file passes as a model with missing keys.
 */
export class GgufTruncatedError extends Error {
  constructor(
    readonly fileBytes: number,
    /** Where the file stops: in the metadata key/values, or in the tensor descriptions after them */
    readonly section: 'metadata' | 'tensor descriptions' | 'header',
    /** The header's length as far as it could be read (the real one is at least this) */
    readonly headerBytesAtLeast?: number,
  ) {
    const where = section === 'header' ? 'its header' : `its header, in the ${section === 'metadata' ? 'metadata (key/value pairs)' : 'tensor descriptions'}`
    const need = headerBytesAtLeast ? `, which needs at least ${headerBytesAtLeast} bytes` : ''
    super(`truncated GGUF: the file is ${fileBytes} bytes and ends inside ${where}${need}; an interrupted download? Download it again`)
  }
}

/**
 * The library reads ranges through `fetch` for http URLs; this answers those ranges from the
 * local file with uncached reads, so parsing a header leaves the page cache as it was. It
 * records the file's size as it answers.
 */
function uncachedFetch(path: string, size: { bytes: number }): typeof fetch {
  return (async (_url: unknown, init?: { headers?: Record<string, string> }) => {
    const m = /bytes=(\d+)-(\d+)/.exec(init?.headers?.Range ?? '')
    const start = m ? Number(m[1]) : 0
    const endInclusive = m ? Number(m[2]) : 2 ** 21 - 1
    const r = await readRangeUncached(path, start, endInclusive - start + 1)
    size.bytes = r.totalBytes
    const last = start + r.data.length - 1
    return new Response(new Uint8Array(r.data).buffer, { status: 206, headers: { 'content-range': `bytes ${start}-${last}/${r.totalBytes}` } })
  }) as typeof fetch
}

/** The library's own errors for reads that ran off the end of the data it had. */
const ranOffTheEnd = /maximum chunk fetches|outside the bounds|Offset is outside/i

/** Throws an Error whose message says why the file is not a readable GGUF (GgufTruncatedError when it is cut short). */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  // What the file is when it is no GGUF at all, in words (the library says "not starting with
  // GGUF magic number" for an empty file as for a safetensors one).
  const head = await readRangeUncached(path, 0, 16)
  if (head.totalBytes === 0) throw new Error('it is an empty file (0 bytes): an interrupted or placeholder download')
  const first = Buffer.from(head.data.subarray(0, 4))
  if (head.totalBytes < 4 && 'GGUF'.startsWith(first.toString('latin1'))) throw new GgufTruncatedError(head.totalBytes, 'header')
  if (first.toString('latin1') !== 'GGUF') {
    const json = head.data.length >= 9 && head.data[8] === 0x7b // safetensors: u64 header length, then '{'
    throw new Error(json ? 'it is a safetensors file, not a GGUF' : `it does not start with the GGUF magic bytes (it starts with 0x${first.toString('hex')})`)
  }
  const { gguf } = await ggufLib()
  const size = { bytes: -1 }
  let out: Awaited<ReturnType<typeof gguf>>
  try {
    out = await gguf('http://hearth.invalid/local-file', { fetch: uncachedFetch(path, size) })
  } catch (err) {
    if (size.bytes >= 0 && (err instanceof RangeError || ranOffTheEnd.test((err as Error).message))) throw new GgufTruncatedError(size.bytes, 'header')
    throw err
  }
  const [infoStart, infoEnd] = out.tensorInfoByteRange
  if (size.bytes < infoEnd) throw new GgufTruncatedError(size.bytes, size.bytes < infoStart ? 'metadata' : 'tensor descriptions', infoEnd)
  const metadata: Record<string, GgufValue> = {}
  for (const [k, v] of Object.entries(out.metadata)) {
    // The token lists are large and nobody here needs their contents, only their length.
    if (Array.isArray(v) && k.startsWith('tokenizer.ggml.')) {
      metadata[`${k}.length`] = v.length
      continue
    }
    metadata[k] = plain(v)
  }
  const tensors = out.tensorInfos.map((t) => ({
    name: t.name,
    shape: t.shape.map((d) => Number(d)),
    type: Number(t.dtype),
    offset: Number(t.offset),
  }))
  return {
    version: Number(metadata.version ?? 0),
    metadata,
    tensors,
    tensorDataOffset: Number(out.tensorDataOffset),
    parameterCount: tensors.reduce((sum, t) => sum + t.shape.reduce((a, d) => a * d, 1), 0),
  }
}

function num(md: Record<string, GgufValue>, key: string): number | undefined {
  const v = md[key]
  if (typeof v === 'number') return v
  // Some architectures store per-layer arrays (e.g. head counts); the first entry stands for all.
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0]
  return undefined
}

/** The facts people look at, from a parsed header. */
export function ggufFacts(h: GgufHeader): GgufFacts {
  const md = h.metadata
  const arch = typeof md['general.architecture'] === 'string' ? (md['general.architecture'] as string) : 'unknown'
  const a = (k: string) => num(md, `${arch}.${k}`)
  const ft = num(md, 'general.file_type')
  const embd = h.tensors.find((t) => t.name === 'token_embd.weight')
  const facts: GgufFacts = {
    architecture: arch,
    parameters: h.parameterCount,
    // lib is loaded: a header only comes from readGgufHeader.
    fileType: ft !== undefined ? (lib?.GGMLFileQuantizationType[ft] ?? `type ${ft}`) : dominantTensorType(h),
    blockCount: a('block_count') ?? 0,
    contextLength: a('context_length') ?? 0,
    embeddingLength: a('embedding_length') ?? 0,
    headCount: a('attention.head_count') ?? 0,
    headCountKv: a('attention.head_count_kv') ?? a('attention.head_count') ?? 0,
  }
  if (typeof md['general.name'] === 'string') facts.name = md['general.name'] as string
  const vocab = num(md, `${arch}.vocab_size`) ?? num(md, 'tokenizer.ggml.tokens.length') ?? embd?.shape[1]
  if (vocab) facts.vocabSize = vocab
  const experts = a('expert_count')
  if (experts) facts.expertCount = experts
  const used = a('expert_used_count')
  if (used) facts.expertUsedCount = used
  const swa = a('attention.sliding_window')
  if (swa) facts.slidingWindow = swa
  return facts
}

export interface GgufTensorRange extends GgufTensor {
  /** Absolute offset of the tensor's data in the file (tensorDataOffset + offset) */
  start: number
  bytes: number
  /** ggml type name ("Q4_K", "F32" …) */
  typeName: string
}

/**
 * Where each tensor's data lies in the file. Throws when a tensor has a type whose block size is
 * unknown or runs past the end of the file (a truncated download).
 */
export function tensorRanges(h: GgufHeader, fileBytes: number): GgufTensorRange[] {
  return h.tensors.map((t) => {
    let bytes: number
    try {
      bytes = tensorBytes(t.shape, t.type)
    } catch {
      throw new Error(`tensor ${t.name} has ggml type ${t.type}, whose size Hearth does not know`)
    }
    const start = h.tensorDataOffset + t.offset
    if (start + bytes > fileBytes) {
      throw new Error(`tensor ${t.name} ends at byte ${start + bytes}, past the end of the file (${fileBytes} bytes): the file is truncated`)
    }
    // lib is loaded: a header only comes from readGgufHeader.
    return { ...t, start, bytes, typeName: lib?.GGMLQuantizationType[t.type] ?? `type ${t.type}` }
  })
}

/** Without general.file_type, name the type that holds the most elements. */
function dominantTensorType(h: GgufHeader): string {
  const byType = new Map<number, number>()
  for (const t of h.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1)
    byType.set(t.type, (byType.get(t.type) ?? 0) + n)
  }
  let best = -1
  let bestN = -1
  for (const [t, n] of byType) if (n > bestN) [best, bestN] = [t, n]
  // lib is loaded: a header only comes from readGgufHeader.
  return (best >= 0 ? lib?.GGMLQuantizationType[best] : undefined) ?? (best < 0 ? 'unknown' : `type ${best}`)
}
