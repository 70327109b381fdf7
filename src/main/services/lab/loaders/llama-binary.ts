// A llama.cpp binary the user has: llama-server (preferred: "loaded" is when /health answers 200,
// the first token is the first streamed piece, tokens/s comes from its own timings) or a
// completion binary (llama-completion, or llama-cli before it became a chat UI), whose load time
// and tokens/s come from the perf lines it prints at exit. The command line is a template the user
// can edit; it is split into argv (no shell) and each {placeholder} filled in.
import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:net'
import { basename, delimiter, join } from 'node:path'
import type { LabLoaderInfo, LabSettings } from '../../../../shared/api'
import type { Env } from '../../../paths'
import { describeExit, LoaderFailure, startLoaderProcess, type LoaderProcess } from '../loader-process'
import { tokensPerSecond, type Loader, type LoaderHooks, type LoaderRunSpec, type LoaderTimings } from './types'

export const llamaTemplates = {
  server: '{bin} -m {model} --host 127.0.0.1 --port {port} -c {ctx} -np 1',
  cli: '{bin} -m {model} -p {prompt} -n {tokens} -c {ctx} -no-cnv --no-display-prompt --temp 0',
}

/** What the binary speaks: llama-server's HTTP API, or a completion run that prints perf lines. */
export const binaryKind = (bin: string): 'server' | 'cli' => (/server/.test(basename(bin)) ? 'server' : 'cli')

const executable = (p: string) => {
  try {
    accessSync(p, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The configured binary, else the first of llama-server, llama-completion, llama-cli on PATH. */
export function findLlamaBinary(settings: Pick<LabSettings, 'llamaBinary'>, env: Env): { bin: string | null; reason?: string } {
  if (settings.llamaBinary) {
    return executable(settings.llamaBinary) ? { bin: settings.llamaBinary } : { bin: null, reason: `${settings.llamaBinary} (set in the lab's settings) is not an executable file` }
  }
  for (const name of ['llama-server', 'llama-completion', 'llama-cli']) {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (dir && executable(join(dir, name))) return { bin: join(dir, name) }
    }
  }
  return { bin: null, reason: 'no llama-server, llama-completion or llama-cli on PATH; install llama.cpp or set the binary in the lab settings' }
}

/** Splits a template into argv (double or single quotes group words) and fills in the placeholders. */
export function expandTemplate(template: string, values: Record<string, string>): string[] {
  const words: string[] = []
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g
  for (let m = re.exec(template); m; m = re.exec(template)) words.push(m[1] ?? m[2] ?? m[3])
  return words.map((w) => w.replace(/\{(\w+)\}/g, (all, key: string) => (key in values ? values[key] : all)))
}

/** Load time and generation speed from llama.cpp's perf lines (llama_perf_context_print / common_perf_print). */
export function parsePerfLines(text: string): { loadMs: number | null; tokensPerSec: number | null; tokens: number | null } {
  const load = /load time =\s+([\d.]+) ms/.exec(text)
  // "eval time" but not "prompt eval time"
  const ev = /[^t] eval time =\s+[\d.]+ ms \/\s+(\d+) (?:runs|tokens)\s+\(\s*[\d.]+ ms per token,\s+([\d.]+) tokens per second\)/.exec(text)
  return { loadMs: load ? Number(load[1]) : null, tokens: ev ? Number(ev[1]) : null, tokensPerSec: ev ? Number(ev[2]) : null }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => ok(port))
    })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function abortable<T>(p: Promise<T>, proc: LoaderProcess, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((ok, fail) => {
    const onAbort = () => fail(new LoaderFailure('CANCELLED', 'stopped', proc.output()))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    proc.exited.then((e) => fail(new LoaderFailure('IO', `${what} ${describeExit(e, false)}`, proc.output())))
    p.then(ok, fail).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

async function runServer(bin: string, template: string, spec: LoaderRunSpec, hooks: LoaderHooks): Promise<LoaderTimings> {
  const port = await freePort()
  const argv = expandTemplate(template, { bin, model: spec.modelPath, port: String(port), prompt: spec.prompt, tokens: String(spec.tokens), ctx: String(spec.contextSize) })
  await hooks.beforeLoad()
  const loadStartedAtMs = Date.now()
  const t0 = performance.now()
  const proc = startLoaderProcess([...spec.wrap, ...argv])
  try {
    hooks.started(proc.pid)
    const base = `http://127.0.0.1:${port}`
    // 503 while loading, 200 once the model is loaded (and warmed up, as users run it).
    const loaded = abortable(
      (async () => {
        for (;;) {
          const r = await fetch(`${base}/health`).catch(() => null)
          if (r?.status === 200) return performance.now() - t0
          await sleep(20)
        }
      })(),
      proc,
      spec.signal,
      basename(bin),
    )
    const loadMs = await loaded
    let first = 0
    let last = 0
    let n = 0
    let timings: { predicted_n?: number; predicted_per_second?: number } | undefined
    await abortable(
      (async () => {
        const r = await fetch(`${base}/completion`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: spec.prompt, n_predict: spec.tokens, stream: true, temperature: 0, cache_prompt: false }),
          signal: spec.signal,
        })
        if (!r.ok || !r.body) throw new LoaderFailure('IO', `${basename(bin)} answered ${r.status} to /completion`, proc.output())
        let buf = ''
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
          buf += Buffer.from(chunk).toString('utf8')
          let nl: number
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim()
            buf = buf.slice(nl + 1)
            if (!line.startsWith('data:')) continue
            const d = JSON.parse(line.slice(5)) as { content?: string; stop?: boolean; timings?: typeof timings }
            if (d.timings) timings = d.timings
            if (!d.stop) {
              last = performance.now() - t0
              if (n++ === 0) first = last
            }
          }
        }
      })(),
      proc,
      spec.signal,
      basename(bin),
    )
    await hooks.beforeExit()
    return {
      loadStartedAtMs,
      loadMs,
      firstTokenMs: first,
      tokens: timings?.predicted_n ?? n,
      tokensPerSec: timings?.predicted_per_second ?? tokensPerSecond(n, first, last),
    }
  } finally {
    await proc.stop(5000)
  }
}

async function runCompletion(bin: string, template: string, spec: LoaderRunSpec, hooks: LoaderHooks): Promise<LoaderTimings> {
  const argv = expandTemplate(template, { bin, model: spec.modelPath, port: '0', prompt: spec.prompt, tokens: String(spec.tokens), ctx: String(spec.contextSize) })
  await hooks.beforeLoad()
  const loadStartedAtMs = Date.now()
  const t0 = performance.now()
  let first = 0
  const proc = startLoaderProcess([...spec.wrap, ...argv], { onStdout: () => (first ||= performance.now() - t0) })
  try {
    hooks.started(proc.pid)
    proc.child.stdin!.end() // a completion run must not wait for input
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok, fail) => {
      const onAbort = () => fail(new LoaderFailure('CANCELLED', 'stopped', proc.output()))
      if (spec.signal.aborted) return onAbort()
      spec.signal.addEventListener('abort', onAbort, { once: true })
      void proc.exited.then(ok).finally(() => spec.signal.removeEventListener('abort', onAbort))
    })
    const wall = performance.now() - t0
    if (exit.code !== 0) throw new LoaderFailure('IO', `${basename(bin)} ${describeExit(exit, spec.wrap.length > 0)}`, proc.output())
    // The process is gone: its last reading is the final one (taken by the sampler moments before).
    const perf = parsePerfLines(proc.output())
    return { loadStartedAtMs, loadMs: perf.loadMs ?? wall, firstTokenMs: first || wall, tokens: perf.tokens ?? spec.tokens, tokensPerSec: perf.tokensPerSec }
  } finally {
    await proc.stop(2000)
  }
}

export function llamaBinaryLoader(settings: () => LabSettings, env: Env): Loader {
  return {
    kind: 'llama-cli',
    async info(): Promise<LabLoaderInfo> {
      const { bin, reason } = findLlamaBinary(settings(), env)
      return bin ? { kind: 'llama-cli', available: true, detail: bin } : { kind: 'llama-cli', available: false, detail: 'llama.cpp binary', reason }
    },
    async run(spec, hooks) {
      const { bin, reason } = findLlamaBinary(settings(), env)
      if (!bin) throw new LoaderFailure('UNAVAILABLE', reason ?? 'no llama.cpp binary', '')
      const kind = binaryKind(bin)
      const template = settings().llamaTemplate ?? llamaTemplates[kind]
      return kind === 'server' ? runServer(bin, template, spec, hooks) : runCompletion(bin, template, spec, hooks)
    },
  }
}
