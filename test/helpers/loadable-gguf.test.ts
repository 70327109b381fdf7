// The loadable test model really loads and decodes in llama.cpp (node-llama-cpp, CPU build), so
// the load lab and the recorder can run real loads on files the tests write.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { writeGguf } from './gguf-writer'
import { loadableLlamaShape } from './model-shapes'

const dir = mkdtempSync(join(tmpdir(), 'hearth-loadable-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('llama.cpp loads the loadable test model, tokenizes and decodes tokens', async () => {
  const path = join(dir, 'tiny.gguf')
  await writeGguf(path, loadableLlamaShape({ layers: 4, embd: 256, ff: 512, heads: 4, headsKv: 4, fileType: 'Q8_0' }))
  const { getLlama } = await import('node-llama-cpp')
  const llama = await getLlama({ gpu: false, build: 'never' })
  const model = await llama.loadModel({ modelPath: path, useMmap: true })
  try {
    const tokens = model.tokenize('w1 w2')
    expect(tokens.length).toBeGreaterThan(0)
    const context = await model.createContext({ contextSize: 128 })
    let decoded = 0
    for await (const _ of context.getSequence().evaluate(tokens)) if (++decoded >= 4) break
    expect(decoded).toBe(4)
    await context.dispose()
  } finally {
    await model.dispose()
  }
})
