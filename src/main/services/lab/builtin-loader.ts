// The built-in loader of the load lab: real llama.cpp (node-llama-cpp, CPU build) in a process of
// its own, so a run measures a real mmap load on any machine. Its own start (Node, the llama.cpp
// library) is kept out of the figures: it says "ready" first and loads only when told "go".
// Built by electron-vite as out/main/lab-loader.js; imports nothing else of Hearth's.
//
//   node lab-loader.js MODEL_PATH TOKENS CONTEXT_SIZE PROMPT
//   hearth-electron … --lab-loader MODEL_PATH TOKENS CONTEXT_SIZE PROMPT   (packaged app: index.ts)
//   events (JSON lines on fd 3; stdout and stderr stay llama.cpp's own output):
//     {"event":"ready","runtime":"node-llama-cpp 3.21.1 (llama.cpp on the CPU)"}
//     {"event":"loaded","ms":N}          N: ms since "go"
//     {"event":"first-token","ms":N}
//     {"event":"done","tokens":N,"firstTokenMs":A,"lastTokenMs":B}
//     {"event":"error","message":"…"}
//   commands (lines on stdin): go, exit
import { writeSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { nodeLlamaCppVersion } from './runtime-version'

const flagAt = process.argv.indexOf('--lab-loader')
const [modelPath, tokensText, contextText, prompt] = process.argv.slice(flagAt >= 0 ? flagAt + 1 : 2)
const wantTokens = Number(tokensText)
const contextSize = Number(contextText)

const emit = (e: Record<string, unknown>) => writeSync(3, JSON.stringify(e) + '\n')
const commands = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
async function nextCommand(): Promise<string> {
  const r = await commands.next()
  return r.done ? 'exit' : r.value.trim() // the parent went away: stop
}

/** llama.cpp's first error line: it says why a load failed ("tensor … data is not within the file bounds"). */
let firstError = ''

async function main(): Promise<void> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    logLevel: LlamaLogLevel.warn,
    // Its own output goes to stderr, where the lab keeps it for the report.
    logger: (level, message) => {
      const text = message.trim()
      if ((level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) && !firstError) firstError = text
      process.stderr.write(`${level}: ${text}\n`)
    },
  })
  emit({ event: 'ready', runtime: `node-llama-cpp ${nodeLlamaCppVersion(import.meta.url) ?? '?'} (llama.cpp on the CPU)` })
  if ((await nextCommand()) !== 'go') return

  const t0 = performance.now()
  const model = await llama.loadModel({ modelPath, useMmap: true })
  emit({ event: 'loaded', ms: performance.now() - t0 })
  const context = await model.createContext({ contextSize })
  const sequence = context.getSequence()
  let n = 0
  let first = 0
  let last = 0
  for await (const _token of sequence.evaluate(model.tokenize(prompt), { temperature: 0 })) {
    last = performance.now() - t0
    if (n++ === 0) {
      first = last
      emit({ event: 'first-token', ms: first })
    }
    if (n >= wantTokens) break
  }
  emit({ event: 'done', tokens: n, firstTokenMs: first, lastTokenMs: last })
  await nextCommand() // the parent reads our counters before we go
  await context.dispose()
  await model.dispose()
}

/** llama.cpp's log lines reach us through a queue of their own, at times after the load's rejection: give the reason a moment to arrive. */
async function reasonArrived(ms: number): Promise<void> {
  for (const until = Date.now() + ms; !firstError && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20))
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    await reasonArrived(1000)
    try {
      const message = err instanceof Error ? err.message : String(err)
      emit({ event: 'error', message: firstError && !message.includes(firstError) ? `${message}: ${firstError}` : message })
    } catch {
      /* fd 3 is gone with the parent */
    }
    process.exit(1)
  },
)
