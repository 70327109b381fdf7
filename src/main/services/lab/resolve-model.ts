// Which files a lab run loads: the model's weights files (GGUF only), sorted so the first is the
// one a loader opens (split models name their first part).
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { HearthError, type Model } from '../../../shared/api'
import type { CatalogService } from '../../context'

export interface LabModel {
  model: Model | undefined
  weights: { path: string; bytes: number }[]
  name: string
}

export async function resolveLabModel(catalog: Pick<CatalogService, 'resolve' | 'current'>, target: string): Promise<LabModel> {
  const files = await catalog.resolve([target])
  const ids = [...new Set(files.map((f) => f.modelId))]
  if (ids.length > 1) throw new HearthError('AMBIGUOUS', `"${target}" names files of several models; name one model (see \`hearth models\`)`)
  const model = ids[0] ? catalog.current().models.find((m) => m.id === ids[0]) : undefined
  if (model && model.format !== 'gguf') throw new HearthError('BAD_INPUT', `${model.name} is ${model.format}; the load lab runs GGUF models (llama.cpp, Ollama)`)
  const weights = model ? model.files.filter((f) => f.role === 'weights').map((f) => ({ path: f.path, bytes: f.bytes })) : files.map((f) => ({ path: f.path, bytes: f.bytes }))
  if (weights.length === 0) throw new HearthError('NOT_FOUND', `${target} has no weights file to load`)
  weights.sort((a, b) => a.path.localeCompare(b.path))
  const head = Buffer.alloc(4)
  const fh = await open(weights[0].path, 'r')
  await fh.read(head, 0, 4, 0).finally(() => fh.close())
  if (head.toString('latin1') !== 'GGUF') throw new HearthError('BAD_INPUT', `${weights[0].path} is not a GGUF file (it does not start with "GGUF"); the load lab runs GGUF models`)
  return { model, weights, name: model?.name ?? basename(weights[0].path) }
}
