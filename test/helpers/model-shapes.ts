// Real transformer shapes as GGUF specs (metadata + tensor list) for writeGguf: the tensor
// names, dimensions and per-tensor quant types follow what llama.cpp's converter writes, so
// anything that reads a real GGUF (catalog facts, the VRAM planner) can be tested on them.
import { GgmlType, gv, type GgufSpec, type MetaValue, type TensorSpec } from './gguf-writer'

/** llama.cpp's LLAMA_FTYPE numbers (general.file_type). */
export const FileType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_S: 11, Q3_K_M: 12,
  Q3_K_L: 13, Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18, IQ4_NL: 25, IQ4_XS: 30,
  BF16: 32,
} as const
export type FileTypeName = keyof typeof FileType

/** The ggml type most weight matrices get under a file type, and the "bigger" one _M mixes use. */
const quantOf: Record<number, { main: number; big: number; output: number }> = {
  0: { main: GgmlType.F32, big: GgmlType.F32, output: GgmlType.F32 },
  1: { main: GgmlType.F16, big: GgmlType.F16, output: GgmlType.F16 },
  2: { main: GgmlType.Q4_0, big: GgmlType.Q4_0, output: GgmlType.Q6_K },
  3: { main: GgmlType.Q4_1, big: GgmlType.Q4_1, output: GgmlType.Q6_K },
  7: { main: GgmlType.Q8_0, big: GgmlType.Q8_0, output: GgmlType.Q8_0 },
  8: { main: GgmlType.Q5_0, big: GgmlType.Q5_0, output: GgmlType.Q6_K },
  9: { main: GgmlType.Q5_1, big: GgmlType.Q5_1, output: GgmlType.Q6_K },
  10: { main: GgmlType.Q2_K, big: GgmlType.Q3_K, output: GgmlType.Q6_K },
  11: { main: GgmlType.Q3_K, big: GgmlType.Q3_K, output: GgmlType.Q6_K },
  12: { main: GgmlType.Q3_K, big: GgmlType.Q4_K, output: GgmlType.Q6_K },
  13: { main: GgmlType.Q3_K, big: GgmlType.Q5_K, output: GgmlType.Q6_K },
  14: { main: GgmlType.Q4_K, big: GgmlType.Q5_K, output: GgmlType.Q6_K },
  15: { main: GgmlType.Q4_K, big: GgmlType.Q6_K, output: GgmlType.Q6_K },
  16: { main: GgmlType.Q5_K, big: GgmlType.Q5_K, output: GgmlType.Q6_K },
  17: { main: GgmlType.Q5_K, big: GgmlType.Q6_K, output: GgmlType.Q6_K },
  18: { main: GgmlType.Q6_K, big: GgmlType.Q6_K, output: GgmlType.Q6_K },
  25: { main: GgmlType.IQ4_NL, big: GgmlType.IQ4_NL, output: GgmlType.Q6_K },
  30: { main: GgmlType.IQ4_XS, big: GgmlType.IQ4_XS, output: GgmlType.Q6_K },
  32: { main: GgmlType.BF16, big: GgmlType.BF16, output: GgmlType.BF16 },
}

/** Falls back to a type whose block fits the row length, as llama.cpp's quantizer does. */
function fitType(type: number, ne0: number): number {
  const blockOf = (t: number) => (t <= 1 || t === GgmlType.BF16 ? 1 : [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL].includes(t as 2) ? 32 : 256)
  if (ne0 % blockOf(type) === 0) return type
  return ne0 % 32 === 0 ? GgmlType.Q8_0 : GgmlType.F16
}

export interface ShapeOptions {
  /** general.architecture; also the metadata key prefix */
  arch?: string
  name?: string
  layers: number
  embd: number
  heads: number
  headsKv: number
  /** feed_forward_length (dense FFN) */
  ff: number
  vocab: number
  fileType?: number | FileTypeName
  contextLength?: number
  /** Per-head dimension (key_length); default embd / heads */
  headDim?: number
  /** No output.weight: the logits reuse token_embd (qwen2 small, gemma) */
  tiedEmbeddings?: boolean
  /** Biases on q/k/v (qwen2) */
  qkvBias?: boolean
  /** attn_q_norm / attn_k_norm per layer (qwen3, gemma3) */
  qkNorm?: boolean
  /** attention.sliding_window (gemma3: most layers see only this many tokens) */
  slidingWindow?: number
  /** Mixture of experts: stacked 3-D expert tensors instead of a dense FFN */
  experts?: { count: number; used: number; ff: number }
  /** Write tokenizer.ggml.tokens (vocab strings) — costs ~8 bytes per token of file */
  tokenizerTokens?: boolean
  /** Extra or overriding metadata */
  metadata?: Record<string, MetaValue>
}

/** A decoder-only transformer in llama.cpp's tensor naming; the wrappers below set the variants. */
export function transformerShape(o: ShapeOptions): GgufSpec {
  const arch = o.arch ?? 'llama'
  const ftNum = typeof o.fileType === 'string' ? FileType[o.fileType] : (o.fileType ?? FileType.Q4_K_M)
  const q = quantOf[ftNum]
  if (!q) throw new Error(`model-shapes: no quant mapping for file type ${ftNum}`)
  const headDim = o.headDim ?? o.embd / o.heads
  const qDim = o.heads * headDim
  const kvDim = o.headsKv * headDim
  const t: TensorSpec[] = []
  const add = (name: string, shape: number[], type: number) => t.push({ name, shape, type: type === GgmlType.F32 ? type : fitType(type, shape[0]) })

  add('token_embd.weight', [o.embd, o.vocab], q.main)
  for (let i = 0; i < o.layers; i++) {
    const b = `blk.${i}`
    add(`${b}.attn_norm.weight`, [o.embd], GgmlType.F32)
    add(`${b}.attn_q.weight`, [o.embd, qDim], q.main)
    add(`${b}.attn_k.weight`, [o.embd, kvDim], q.main)
    add(`${b}.attn_v.weight`, [o.embd, kvDim], q.big)
    if (o.qkvBias) {
      add(`${b}.attn_q.bias`, [qDim], GgmlType.F32)
      add(`${b}.attn_k.bias`, [kvDim], GgmlType.F32)
      add(`${b}.attn_v.bias`, [kvDim], GgmlType.F32)
    }
    if (o.qkNorm) {
      add(`${b}.attn_q_norm.weight`, [headDim], GgmlType.F32)
      add(`${b}.attn_k_norm.weight`, [headDim], GgmlType.F32)
    }
    add(`${b}.attn_output.weight`, [qDim, o.embd], q.main)
    if (arch === 'gemma3') {
      add(`${b}.post_attention_norm.weight`, [o.embd], GgmlType.F32)
      add(`${b}.post_ffw_norm.weight`, [o.embd], GgmlType.F32)
    }
    add(`${b}.ffn_norm.weight`, [o.embd], GgmlType.F32)
    if (o.experts) {
      const { count, ff } = o.experts
      add(`${b}.ffn_gate_inp.weight`, [o.embd, count], GgmlType.F32)
      add(`${b}.ffn_gate_exps.weight`, [o.embd, ff, count], q.main)
      add(`${b}.ffn_up_exps.weight`, [o.embd, ff, count], q.main)
      add(`${b}.ffn_down_exps.weight`, [ff, o.embd, count], q.big)
    } else {
      add(`${b}.ffn_gate.weight`, [o.embd, o.ff], q.main)
      add(`${b}.ffn_up.weight`, [o.embd, o.ff], q.main)
      add(`${b}.ffn_down.weight`, [o.ff, o.embd], q.big)
    }
  }
  add('output_norm.weight', [o.embd], GgmlType.F32)
  if (!o.tiedEmbeddings) add('output.weight', [o.embd, o.vocab], q.output)

  const md: Record<string, MetaValue> = {
    'general.architecture': arch,
    'general.name': o.name ?? `${arch} test model`,
    'general.file_type': gv.u32(ftNum),
    'general.quantization_version': gv.u32(2),
    [`${arch}.block_count`]: gv.u32(o.layers),
    [`${arch}.context_length`]: gv.u32(o.contextLength ?? 4096),
    [`${arch}.embedding_length`]: gv.u32(o.embd),
    [`${arch}.feed_forward_length`]: gv.u32(o.ff),
    [`${arch}.attention.head_count`]: gv.u32(o.heads),
    [`${arch}.attention.head_count_kv`]: gv.u32(o.headsKv),
    [`${arch}.attention.key_length`]: gv.u32(headDim),
    [`${arch}.attention.value_length`]: gv.u32(headDim),
    [`${arch}.attention.layer_norm_rms_epsilon`]: gv.f32(1e-6),
    [`${arch}.rope.freq_base`]: gv.f32(10000),
    'tokenizer.ggml.model': arch === 'llama' ? 'llama' : 'gpt2',
  }
  if (o.slidingWindow) md[`${arch}.attention.sliding_window`] = gv.u32(o.slidingWindow)
  if (o.experts) {
    md[`${arch}.expert_count`] = gv.u32(o.experts.count)
    md[`${arch}.expert_used_count`] = gv.u32(o.experts.used)
    md[`${arch}.expert_feed_forward_length`] = gv.u32(o.experts.ff)
  }
  if (o.tokenizerTokens) {
    md['tokenizer.ggml.tokens'] = { type: 9, itemType: 8, value: Array.from({ length: o.vocab }, (_, i) => `t${i}`) }
  }
  Object.assign(md, o.metadata ?? {})
  return { metadata: md, tensors: t }
}

export type ShapeBase = Omit<ShapeOptions, 'arch'>

/** Llama-style: untied output, no biases. */
export const llamaShape = (o: ShapeBase): GgufSpec => transformerShape({ ...o, arch: 'llama' })

/** Qwen2 small: tied embeddings (no output.weight) and q/k/v biases. */
export const qwen2Shape = (o: ShapeBase): GgufSpec =>
  transformerShape({ tiedEmbeddings: true, qkvBias: true, ...o, arch: 'qwen2' })

/** Gemma3-like: sliding-window attention, tied embeddings, q/k norms, extra post-norms. */
export const gemma3Shape = (o: ShapeBase): GgufSpec =>
  transformerShape({ tiedEmbeddings: true, qkNorm: true, slidingWindow: 1024, ...o, arch: 'gemma3' })

/** Qwen3-MoE-like: 3-D expert tensors (ne0, ne1, n_expert), router, q/k norms. */
export const qwen3MoeShape = (o: ShapeBase & { experts: { count: number; used: number; ff: number } }): GgufSpec =>
  transformerShape({ qkNorm: true, ...o, arch: 'qwen3moe' })

/** A CLIP vision projector as shipped beside a VLM (mmproj-*.gguf). */
export function clipProjectorShape(o: { embd: number; layers: number; projectionDim: number; name?: string }): GgufSpec {
  const t: TensorSpec[] = [
    { name: 'v.patch_embd.weight', shape: [14, 14, 3, o.embd], type: GgmlType.F16 },
    { name: 'v.position_embd.weight', shape: [o.embd, 256], type: GgmlType.F16 },
  ]
  for (let i = 0; i < o.layers; i++) {
    for (const p of ['attn_q', 'attn_k', 'attn_v', 'attn_out']) t.push({ name: `v.blk.${i}.${p}.weight`, shape: [o.embd, o.embd], type: GgmlType.F16 })
    t.push({ name: `v.blk.${i}.ffn_up.weight`, shape: [o.embd, o.embd * 4], type: GgmlType.F16 })
    t.push({ name: `v.blk.${i}.ffn_down.weight`, shape: [o.embd * 4, o.embd], type: GgmlType.F16 })
  }
  t.push({ name: 'mm.0.weight', shape: [o.embd, o.projectionDim], type: GgmlType.F16 })
  return {
    metadata: {
      'general.architecture': 'clip',
      'general.name': o.name ?? 'test projector',
      'general.file_type': gv.u32(1),
      'clip.has_vision_encoder': true,
      'clip.vision.embedding_length': gv.u32(o.embd),
      'clip.vision.block_count': gv.u32(o.layers),
      'clip.vision.projection_dim': gv.u32(o.projectionDim),
    },
    tensors: t,
  }
}

/**
 * A llama-architecture model that a real llama.cpp (node-llama-cpp) loads and runs: the shape of
 * llamaShape plus a byte-level SentencePiece vocabulary (<unk>, <s>, </s>, the 256 <0xNN> byte
 * tokens, then plain words), which llama.cpp's "llama" tokenizer needs. Weights stay zero (or a
 * sparse hole), so the output is meaningless but the load and the decode are real.
 */
export function loadableLlamaShape(o: Omit<ShapeBase, 'vocab' | 'tokenizerTokens'> & { words?: number }): GgufSpec {
  const words = o.words ?? 64
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`), ...Array.from({ length: words }, (_, i) => `\u2581w${i}`)]
  // llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1))
  return transformerShape({
    ...o,
    arch: 'llama',
    vocab: tokens.length,
    metadata: {
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': { type: 9, itemType: 8, value: tokens },
      'tokenizer.ggml.scores': { type: 9, itemType: 6, value: tokens.map(() => 0) },
      'tokenizer.ggml.token_type': { type: 9, itemType: 5, value: types },
      'tokenizer.ggml.bos_token_id': gv.u32(1),
      'tokenizer.ggml.eos_token_id': gv.u32(2),
      'tokenizer.ggml.unknown_token_id': gv.u32(0),
      ...(o.metadata ?? {}),
    },
  })
}
