// Models the planner tests write (real shapes, sparse weights) and read back as the planner does.
import { join } from 'node:path'
import { writeGguf } from '../helpers/gguf-writer'
import { llamaShape, qwen2Shape } from '../helpers/model-shapes'
import { readGgufHeader } from '../../src/main/services/gguf/read-gguf'
import { modelShapeFrom, type ModelShape } from '../../src/shared/planner'

/** Writes `dir/name.gguf` (sparse) and returns the shape the planner reads from its header. */
export async function writeShape(dir: string, name: string, spec: Parameters<typeof writeGguf>[1]): Promise<ModelShape> {
  const w = await writeGguf(join(dir, name.endsWith('.gguf') ? name : `${name}.gguf`), { ...spec, sparse: true })
  const h = await readGgufHeader(w.path)
  return modelShapeFrom(w.path, h.metadata, h.tensors, w.bytes)
}

/** The 6 GB laptop case: Qwen2.5-3B-Instruct and Qwen2.5-Coder-7B shapes at Q4_K_M. */
export const chat3b = (name = 'chat 3B') => qwen2Shape({ name, layers: 36, embd: 2048, heads: 16, headsKv: 2, ff: 11008, vocab: 151936, fileType: 'Q4_K_M', contextLength: 32768 })
export const code7b = (name = 'code 7B') => llamaShape({ name, layers: 28, embd: 3584, heads: 28, headsKv: 4, ff: 18944, vocab: 152064, fileType: 'Q4_K_M', contextLength: 32768 })
