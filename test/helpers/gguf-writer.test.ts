import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ggufFacts, readGgufHeader } from '../../src/main/services/gguf/read-gguf'
import { GgmlType, GgufType, gv, tensorBytes, writeGguf } from './gguf-writer'
import { gemma3Shape, llamaShape, qwen2Shape, qwen3MoeShape } from './model-shapes'

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-gguf-writer-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('gguf-writer', () => {
  it('computes ggml block sizes', () => {
    expect(tensorBytes([4096, 4096], GgmlType.Q4_K)).toBe((4096 * 4096 / 256) * 144)
    expect(tensorBytes([64, 2], GgmlType.Q8_0)).toBe(4 * 34)
    expect(tensorBytes([10], GgmlType.F32)).toBe(40)
    expect(() => tensorBytes([100], GgmlType.Q4_K)).toThrow(/multiple of 256/)
  })

  it('round-trips metadata of every type and tensor offsets', async () => {
    const path = join(dir, 'types.gguf')
    const w = await writeGguf(path, {
      metadata: {
        'general.architecture': 'llama',
        'general.name': 'Tëst model',
        u8: gv.u8(200),
        i16: gv.i16(-3),
        i32: gv.i32(-70000),
        u64: gv.u64(2n ** 40n),
        f64: gv.f64(0.25),
        flag: true,
        ints: gv.arr(GgufType.INT32, [1, -2, 3]),
        strs: ['a', 'bc'],
      },
      tensors: [
        { name: 'a', shape: [10], type: GgmlType.F32 },
        { name: 'b', shape: [256, 3], type: GgmlType.Q6_K },
        { name: 'c', shape: [32, 5, 2], type: GgmlType.IQ4_NL },
      ],
      alignment: 64,
    })
    expect((await stat(path)).size).toBe(w.bytes)
    const h = await readGgufHeader(path)
    expect(h.version).toBe(3)
    expect(h.metadata['general.name']).toBe('Tëst model')
    expect(h.metadata.u8).toBe(200)
    expect(h.metadata.i16).toBe(-3)
    expect(h.metadata.i32).toBe(-70000)
    expect(h.metadata.u64).toBe(2 ** 40)
    expect(h.metadata.f64).toBe(0.25)
    expect(h.metadata.flag).toBe(true)
    expect(h.metadata.ints).toEqual([1, -2, 3])
    expect(h.metadata.strs).toEqual(['a', 'bc'])
    expect(h.metadata['general.alignment']).toBe(64)
    expect(h.tensorDataOffset).toBe(w.tensorDataOffset)
    expect(h.tensorDataOffset % 64).toBe(0)
    expect(h.tensors.map((t) => [t.name, t.shape, t.type, t.offset])).toEqual(
      w.tensors.map((t) => [t.name, t.shape, t.type, t.offset]),
    )
    expect(h.tensors[1].offset).toBe(64) // 40 bytes padded to the alignment
    expect(w.bytes).toBe(w.tensorDataOffset + w.tensors[2].offset + w.tensors[2].bytes)
  })

  it('writes a sparse 8B-class llama whose facts read back', async () => {
    const path = join(dir, 'llama-8b.gguf')
    const spec = llamaShape({ layers: 32, embd: 4096, heads: 32, headsKv: 8, ff: 14336, vocab: 128256, fileType: 'Q4_K_M', contextLength: 131072, name: 'Llama 8B' })
    const w = await writeGguf(path, { ...spec, sparse: true })
    const st = await stat(path)
    expect(st.size).toBe(w.bytes)
    expect(st.size).toBeGreaterThan(4e9)
    expect(st.blocks * 512).toBeLessThan(1 << 20) // a hole, not 4 GB of zeros
    const f = ggufFacts(await readGgufHeader(path))
    expect(f).toMatchObject({ architecture: 'llama', fileType: 'Q4_K_M', blockCount: 32, contextLength: 131072, embeddingLength: 4096, headCount: 32, headCountKv: 8, name: 'Llama 8B', vocabSize: 128256 })
    expect(f.parameters).toBe(w.parameters)
    expect(f.parameters).toBeGreaterThan(8.0e9)
    expect(f.parameters).toBeLessThan(8.1e9)
  })

  it('builds qwen2 (tied), gemma3 (sliding window) and qwen3moe (3-D experts) shapes', async () => {
    const qwen = qwen2Shape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q8_0' })
    expect(qwen.tensors.some((t) => t.name === 'output.weight')).toBe(false)
    expect(qwen.tensors.some((t) => t.name === 'blk.0.attn_q.bias')).toBe(true)
    const gemma = gemma3Shape({ layers: 2, embd: 256, heads: 4, headsKv: 1, ff: 512, vocab: 1000, headDim: 64, slidingWindow: 512 })
    const moe = qwen3MoeShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, experts: { count: 8, used: 2, ff: 256 } })
    expect(moe.tensors.find((t) => t.name === 'blk.0.ffn_gate_exps.weight')?.shape).toEqual([256, 256, 8])
    for (const [name, spec] of [['qwen', qwen], ['gemma', gemma], ['moe', moe]] as const) {
      const path = join(dir, `${name}.gguf`)
      await writeGguf(path, spec)
      const h = await readGgufHeader(path)
      expect(h.tensors.length).toBe(spec.tensors.length)
      const f = ggufFacts(h)
      if (name === 'qwen') expect(f).toMatchObject({ architecture: 'qwen2', fileType: 'Q8_0', vocabSize: 1000 })
      if (name === 'gemma') expect(f).toMatchObject({ architecture: 'gemma3', slidingWindow: 512, headCountKv: 1 })
      if (name === 'moe') expect(f).toMatchObject({ architecture: 'qwen3moe', expertCount: 8, expertUsedCount: 2 })
    }
  })

  it('falls back to a fitting type when a row is not a whole K-quant block', () => {
    const s = llamaShape({ layers: 1, embd: 96, heads: 3, headsKv: 3, ff: 144, vocab: 50, fileType: 'Q4_K_M' })
    expect(s.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type).toBe(GgmlType.Q8_0)
    expect(s.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.type).toBe(GgmlType.F16) // 144 % 32 ≠ 0
  })
})
