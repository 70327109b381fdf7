// A GGUF header (metadata + tensor infos) → the shape the planner works on.
import type { ModelShape, PlannerTensor } from './types'

type Meta = Record<string, unknown>

function num(md: Meta, key: string): number | undefined {
  const v = md[key]
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v) && typeof v[0] === 'number') return Math.max(...(v as number[]))
  return undefined
}

/** Per-layer value: arrays are per layer, scalars stand for all layers. */
function perLayer(md: Meta, key: string, n: number, fallback: number): number[] {
  const v = md[key]
  if (Array.isArray(v) && v.length === n) return v.map((x) => Number(x))
  const s = typeof v === 'number' || typeof v === 'bigint' ? Number(v) : fallback
  return Array.from({ length: n }, () => s)
}

/**
 * Which layers use the sliding window. llama.cpp hard-codes the pattern per architecture
 * (llama-model.cpp set_swa_pattern); a GGUF may also carry it as a per-layer bool array.
 */
function swaLayerPattern(arch: string, md: Meta, n: number, nSwa: number): boolean[] {
  const none = Array.from({ length: n }, () => false)
  if (!nSwa) return none
  const stored = md[`${arch}.attention.sliding_window_pattern`]
  if (Array.isArray(stored) && stored.length === n) return stored.map(Boolean)
  // Every `period`-th layer (the last of each group) attends globally.
  const period: Record<string, number> = { gemma2: 2, gemma3: typeof stored === 'number' ? stored : 6, gemma3n: 5, cohere2: 4, 'gpt-oss': 2, llama4: 4, exaone4: 4 }
  const p = typeof stored === 'number' && stored > 0 ? stored : (period[arch] ?? 0)
  if (!p) return Array.from({ length: n }, () => true)
  return Array.from({ length: n }, (_, il) => (il + 1) % p !== 0)
}

export function modelShapeFrom(path: string, metadata: Meta, tensors: PlannerTensor[], fileBytes: number): ModelShape {
  const arch = typeof metadata['general.architecture'] === 'string' ? (metadata['general.architecture'] as string) : 'unknown'
  const a = (k: string) => num(metadata, `${arch}.${k}`)
  const nLayer = a('block_count') ?? 0
  if (!nLayer) throw new Error(`${path}: no ${arch}.block_count in the GGUF metadata; is this a language model (not a projector or adapter)?`)
  const nEmbd = a('embedding_length') ?? 0
  const nHead = a('attention.head_count') ?? 0
  const embd = tensors.find((t) => t.name === 'token_embd.weight')
  const nVocab = a('vocab_size') ?? num(metadata, 'tokenizer.ggml.tokens.length') ?? embd?.shape[1] ?? 0
  const headDim = nHead ? nEmbd / nHead : 0
  const nExpert = a('expert_count') ?? 0
  const nSwa = a('attention.sliding_window') ?? 0
  const kvLoraRank = a('attention.kv_lora_rank') ?? 0
  const ssmInner = a('ssm.inner_size') ?? 0
  const ssmState = a('ssm.state_size') ?? 0
  const ssmConv = a('ssm.conv_kernel') ?? 0
  const ssmGroups = a('ssm.group_count') ?? 1
  const wkvHead = a('wkv.head_size') ?? 0
  // Mamba: conv state (d_conv-1)·(d_inner + 2·groups·d_state) + ssm state d_state·d_inner, f32.
  let recurrent = 0
  if (ssmInner) recurrent = 4 * ((ssmConv - 1) * (ssmInner + 2 * ssmGroups * ssmState) + ssmState * ssmInner)
  else if (wkvHead) recurrent = 4 * (2 * nEmbd + nEmbd * wkvHead)
  return {
    path,
    name: typeof metadata['general.name'] === 'string' ? (metadata['general.name'] as string) : path.split('/').pop() ?? path,
    arch,
    nLayer,
    nEmbd,
    nHead,
    nHeadKv: recurrent ? Array.from({ length: nLayer }, () => 0) : perLayer(metadata, `${arch}.attention.head_count_kv`, nLayer, nHead),
    headDimK: a('attention.key_length') ?? headDim,
    headDimV: a('attention.value_length') ?? headDim,
    nFf: a('feed_forward_length') ?? 0,
    nVocab,
    nCtxTrain: a('context_length') ?? 4096,
    nSwa,
    swaLayers: swaLayerPattern(arch, metadata, nLayer, nSwa),
    nExpert,
    nExpertUsed: a('expert_used_count') ?? 0,
    nFfExp: a('expert_feed_forward_length') ?? (nExpert ? expertFfFromTensors(tensors) : 0),
    kvLoraRank,
    ropeDimMla: kvLoraRank ? (a('rope.dimension_count') ?? 64) : 0,
    recurrentStateBytesPerLayer: recurrent,
    tied: !tensors.some((t) => t.name === 'output.weight'),
    fileBytes,
    tensors,
  }
}

function expertFfFromTensors(tensors: PlannerTensor[]): number {
  const t = tensors.find((x) => /ffn_up_exps/.test(x.name))
  return t?.shape[1] ?? 0
}
