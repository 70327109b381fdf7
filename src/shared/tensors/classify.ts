// A tensor's layer and kind from its GGUF name (llama.cpp's naming: gguf-py/gguf/constants.py).
import type { TensorKind } from '../contract/tensors'

const layerRe = /(?:^|\.)blk\.(\d+)\./

/** blk.N → N; null for model-wide tensors. */
export function layerOf(name: string): number | null {
  const m = layerRe.exec(name)
  return m ? Number(m[1]) : null
}

/**
 * What a tensor is for. Order matters: "ffn_gate_inp" (the router) before "ffn_", "_exps" before
 * "ffn_", norms first ("attn_norm" is a norm, not attention).
 */
export function kindOf(name: string): TensorKind {
  const base = name.replace(layerRe, '.').replace(/^\./, '')
  const stem = base.replace(/\.(weight|bias|scale)$/, '')
  if (/(^|_)norm(_\d+)?$|_norm\b|^norm$|layernorm/.test(stem)) return 'norm'
  if (/^(token_embd|position_embd|token_types|per_layer_token_embd|tok_embd)/.test(stem)) return 'embeddings'
  if (/^(output|cls|cls\.output)$/.test(stem) || stem === 'lm_head') return 'output'
  if (/_exps$/.test(stem)) return 'experts'
  if (/^ffn_gate_inp|^exp_probs_b/.test(stem)) return 'router'
  if (/^ffn_/.test(stem)) return 'ffn'
  if (/^(attn_|ssm_|time_mix_|wkv)/.test(stem)) return 'attention'
  return 'other'
}

/** Grid columns in this order; kinds a model lacks are left out. */
export const gridKindOrder: TensorKind[] = ['attention', 'ffn', 'router', 'experts', 'norm', 'embeddings', 'output', 'other']
