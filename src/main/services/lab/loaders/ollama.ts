// Ollama as a loader, through its API: the model is unloaded first (keep_alive 0), then one
// streamed /api/generate with keep_alive 0 loads it, generates, and unloads it again, so every
// run is a real load. Ollama reports load_duration itself; the first token is the first streamed
// piece. The process measured is Ollama's runner (found by the model file on its command line);
// when it runs as another user (the system service), its counters are not readable and say so.
import { readdir, readFile } from 'node:fs/promises'
import type { LabLoaderInfo, LabSettings } from '../../../../shared/api'
import type { Env } from '../../../paths'
import { LoaderFailure } from '../loader-process'
import { tokensPerSecond, type Loader, type LoaderHooks, type LoaderRunSpec, type LoaderTimings } from './types'

export function ollamaUrl(settings: Pick<LabSettings, 'ollamaUrl'>, env: Env): string {
  if (settings.ollamaUrl) return settings.ollamaUrl.replace(/\/+$/, '')
  const host = env.OLLAMA_HOST
  if (!host) return 'http://127.0.0.1:11434'
  const withScheme = /^https?:\/\//.test(host) ? host : `http://${host}`
  return withScheme.replace(/\/+$/, '').replace(/^(https?:\/\/)0\.0\.0\.0/, '$1127.0.0.1')
}

interface GenerateChunk {
  response?: string
  done?: boolean
  error?: string
  load_duration?: number
  eval_count?: number
  eval_duration?: number
}

/** Reads NDJSON from a fetch body, calling onChunk per object. */
async function readNdjson(body: AsyncIterable<Uint8Array>, onChunk: (c: GenerateChunk) => void): Promise<void> {
  let buf = ''
  for await (const part of body) {
    buf += Buffer.from(part).toString('utf8')
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      if (line) onChunk(JSON.parse(line) as GenerateChunk)
    }
  }
  if (buf.trim()) onChunk(JSON.parse(buf) as GenerateChunk)
}

/** The runner process that has this model file on its command line, if any. */
export async function findRunner(modelPath: string, procRoot = '/proc'): Promise<number | null> {
  for (const name of await readdir(procRoot).catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue
    const argv = (await readFile(`${procRoot}/${name}/cmdline`, 'utf8').catch(() => '')).split('\0')
    if (argv.includes(modelPath) && argv.some((a) => a === 'runner')) return Number(name)
  }
  return null
}

async function unload(base: string, model: string, signal: AbortSignal): Promise<void> {
  await fetch(`${base}/api/generate`, { method: 'POST', body: JSON.stringify({ model, keep_alive: 0 }), signal }).then((r) => r.arrayBuffer())
  // Unloading finishes after the answer: wait until /api/ps no longer lists it.
  for (let i = 0; i < 100; i++) {
    const ps = (await fetch(`${base}/api/ps`, { signal }).then((r) => r.json()).catch(() => ({ models: [] }))) as { models?: { name: string; model?: string }[] }
    if (!ps.models?.some((m) => m.name === model || m.model === model)) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

export function ollamaLoader(settings: () => LabSettings, env: Env): Loader {
  return {
    kind: 'ollama',
    async info(): Promise<LabLoaderInfo> {
      const base = ollamaUrl(settings(), env)
      try {
        const r = await fetch(`${base}/api/version`, { signal: AbortSignal.timeout(1500) })
        const v = ((await r.json()) as { version?: string }).version ?? '?'
        return { kind: 'ollama', available: true, detail: `Ollama ${v} at ${base}` }
      } catch {
        return { kind: 'ollama', available: false, detail: `Ollama at ${base}`, reason: `Ollama does not answer at ${base}; start it (ollama serve) or set its address in the lab settings` }
      }
    },
    async run(spec: LoaderRunSpec, hooks: LoaderHooks): Promise<LoaderTimings> {
      const base = ollamaUrl(settings(), env)
      const model = spec.ollamaName
      if (!model) throw new LoaderFailure('BAD_INPUT', 'the Ollama loader runs models Ollama knows (name:tag); pick one of its models from `hearth models`', '')
      if (spec.wrap.length) throw new LoaderFailure('BAD_INPUT', "Ollama starts its runner itself, outside Hearth's cgroup; limit its memory with the locked-memory method instead", '')
      await unload(base, model, spec.signal)
      await hooks.beforeLoad()
      const loadStartedAtMs = Date.now()
      const t0 = performance.now()
      let pid: number | null = null
      const watch = setInterval(() => {
        if (pid === null) void findRunner(spec.modelPath).then((p) => p !== null && pid === null && hooks.started((pid = p)))
      }, 50)
      try {
        const r = await fetch(`${base}/api/generate`, {
          method: 'POST',
          body: JSON.stringify({ model, prompt: spec.prompt, stream: true, keep_alive: 0, options: { num_predict: spec.tokens, temperature: 0, num_ctx: spec.contextSize } }),
          signal: spec.signal,
        }).catch((err: Error) => {
          throw new LoaderFailure(spec.signal.aborted ? 'CANCELLED' : 'IO', `Ollama at ${base}: ${err.message}`, '')
        })
        if (!r.ok || !r.body) throw new LoaderFailure('IO', `Ollama answered ${r.status}: ${await r.text().catch(() => '')}`, '')
        let first = 0
        let last = 0
        let n = 0
        let final: GenerateChunk | null = null
        await readNdjson(r.body as unknown as AsyncIterable<Uint8Array>, (c) => {
          if (c.error) throw new LoaderFailure('IO', `Ollama: ${c.error}`, '')
          if (c.done) final = c
          else {
            last = performance.now() - t0
            if (n++ === 0) first = last
          }
        }).catch((err: Error) => {
          if (err instanceof LoaderFailure) throw err
          throw new LoaderFailure(spec.signal.aborted ? 'CANCELLED' : 'IO', `Ollama at ${base}: ${err.message}`, '')
        })
        if (pid !== null) await hooks.beforeExit()
        const f = final as GenerateChunk | null
        const loadMs = f?.load_duration ? f.load_duration / 1e6 : first
        const ollamaRate = f?.eval_count && f.eval_duration ? f.eval_count / (f.eval_duration / 1e9) : null
        return { loadStartedAtMs, loadMs, firstTokenMs: first, tokens: f?.eval_count ?? n, tokensPerSec: ollamaRate ?? tokensPerSecond(n, first, last) }
      } finally {
        clearInterval(watch)
      }
    },
  }
}
