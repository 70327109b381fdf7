// Writes a model as llama.cpp's gguf-split does: N shards named STEM-0000i-of-0000N.gguf, each a
// complete GGUF with its own header and tensor data offset; the first carries the model's
// metadata, every one split.no, split.count and split.tensors.count (llama.cpp's gguf-split.cpp).
import { join } from 'node:path'
import { gv, writeGguf, type GgufSpec, type WrittenGguf } from './gguf-writer'

export async function writeSplitGguf(dir: string, stem: string, spec: GgufSpec, shards: number): Promise<WrittenGguf[]> {
  const per = Math.ceil(spec.tensors.length / shards)
  const out: WrittenGguf[] = []
  for (let i = 0; i < shards; i++) {
    const split = { 'split.no': gv.u16(i), 'split.count': gv.u16(shards), 'split.tensors.count': gv.i32(spec.tensors.length) }
    const name = `${stem}-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.gguf`
    out.push(
      await writeGguf(join(dir, name), {
        ...spec,
        // Shards after the first carry only the split keys, as gguf-split's do.
        metadata: i === 0 ? { ...spec.metadata, ...split } : split,
        tensors: spec.tensors.slice(i * per, (i + 1) * per),
      }),
    )
  }
  return out
}
