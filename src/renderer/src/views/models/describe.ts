import type { Model, ModelSource } from '../../../../shared/api'

export const sourceLabel: Record<ModelSource, string> = {
  lmstudio: 'LM Studio',
  ollama: 'Ollama',
  huggingface: 'Hugging Face',
  llamacpp: 'llama.cpp',
  gpt4all: 'GPT4All',
  jan: 'Jan',
  textgen: 'text-gen-webui',
  folder: 'Your folder',
}

/** "GGUF · Q4_K_M", "safetensors · BF16" */
export function formatLabel(m: Model): string {
  if (m.format === 'gguf') return m.gguf ? `GGUF · ${m.gguf.fileType}` : 'GGUF'
  if (m.format === 'safetensors') return m.safetensors ? `safetensors · ${m.safetensors.dtype}` : 'safetensors'
  return m.format
}

/** What the filter box matches against. */
export function searchText(m: Model): string {
  return [m.name, m.id, sourceLabel[m.source], m.source, formatLabel(m), m.gguf?.architecture ?? '', ...(m.tags ?? [])].join(' ').toLowerCase()
}
