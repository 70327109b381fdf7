// Loads a GGUF with real llama.cpp (node-llama-cpp, CPU, mmap) and decodes a few tokens, for the
// recorder's test. Optionally caps its own reads from the model's disk first (cgroup v1 blkio, as
// root) so the load spans many of the recorder's samples, as on a slow disk. Prints "ready",
// waits for a line on stdin (the recorder starts meanwhile), loads, prints "done", exits.
//   usage: llama-load-child.ts MODEL [READ_BYTES_PER_SEC]
import { createInterface } from 'node:readline'
import { throttleReads } from '../support/cgroup'

const [modelPath, bpsArg] = process.argv.slice(2)
const unthrottle = bpsArg ? throttleReads(modelPath, Number(bpsArg)) : () => {}
const { getLlama } = await import('node-llama-cpp')
const llama = await getLlama({ gpu: false, build: 'never' })
const rl = createInterface({ input: process.stdin })
process.stdout.write('ready\n')
await new Promise<void>((ok) => rl.once('line', () => ok()))
rl.close()
try {
  const model = await llama.loadModel({ modelPath, useMmap: true })
  const context = await model.createContext({ contextSize: 64 })
  let decoded = 0
  for await (const _ of context.getSequence().evaluate(model.tokenize('w1 w2'))) if (++decoded >= 2) break
  await context.dispose()
  await model.dispose()
  process.stdout.write('done\n')
} finally {
  unthrottle()
}
await llama.dispose()
