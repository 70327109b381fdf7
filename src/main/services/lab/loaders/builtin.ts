// The built-in loader from the experiment's side: starts builtin-loader.ts (out/main/lab-loader.js
// when bundled) under this Node (or Electron as Node), and turns its events into timings.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Readable } from 'node:stream'
import type { LabLoaderInfo } from '../../../../shared/api'
import { nodeLlamaCppVersion } from '../runtime-version'
import { describeExit, LoaderFailure, startLoaderProcess, type LoaderProcess } from '../loader-process'
import { tokensPerSecond, type Loader, type LoaderHooks, type LoaderRunSpec, type LoaderTimings } from './types'
import { findUp } from '../../../bundle-paths'
import { headlessSwitches } from '../../desktop/launcher'

type ChildEvent =
  | { event: 'ready'; runtime: string }
  | { event: 'loaded'; ms: number }
  | { event: 'first-token'; ms: number }
  | { event: 'done'; tokens: number; firstTokenMs: number; lastTokenMs: number }
  | { event: 'error'; message: string }

/** The runtime that starts the loader: Node, Electron run from a checkout, or a packaged app. */
export interface LoaderRuntime {
  execPath: string
  /** process.versions.electron */
  electron?: string
  /** process.defaultApp: Electron started with an app path (a checkout), not a packaged app */
  defaultApp?: boolean
}

/**
 * How to start the child: the bundled script next to the bundle, or the TypeScript source through
 * tsx. A packaged app's binary cannot act as Node (release builds turn the RunAsNode fuse off),
 * so it starts itself with --lab-loader, headless like the packaged CLI (src/main/index.ts).
 */
export function builtinLoaderCommand(rt: LoaderRuntime = { execPath: process.execPath, electron: process.versions.electron, defaultApp: process.defaultApp }): string[] {
  if (rt.electron && !rt.defaultApp) return [rt.execPath, ...headlessSwitches, '--lab-loader']
  const here = dirname(fileURLToPath(import.meta.url))
  if (import.meta.url.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    return [rt.execPath, '--import', tsx, join(here, '..', 'builtin-loader.ts')]
  }
  // out/main/cli.js or out/main/chunks/*.js → out/main/lab-loader.js
  const script = findUp(here, 'lab-loader.js', 1) ?? join(here, 'lab-loader.js')
  return [rt.execPath, script]
}

/** Reads the child's JSON events in order; next() rejects once the process has exited or the run aborts. */
function eventReader(stream: Readable, proc: LoaderProcess, signal: AbortSignal) {
  const lines = createInterface({ input: stream })[Symbol.asyncIterator]()
  const exit = proc.exited.then((e) => {
    throw new LoaderFailure('IO', `the built-in loader ${describeExit(e, false)}`, proc.output())
  })
  exit.catch(() => {})
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(new LoaderFailure('CANCELLED', 'stopped', proc.output()))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => {})
  return async (): Promise<ChildEvent> => {
    const line = lines.next().then((r) => {
      if (r.done) return exit.then(() => ({ event: 'error', message: 'no more events' }) as ChildEvent)
      return JSON.parse(r.value) as ChildEvent
    })
    const e = await Promise.race([line, aborted])
    if (e.event === 'error') throw new LoaderFailure('IO', `the built-in loader failed: ${e.message}`, proc.output())
    return e
  }
}

export function builtinLoader(): Loader {
  let runtime: string | null = null
  return {
    kind: 'builtin',
    async info(): Promise<LabLoaderInfo> {
      const v = nodeLlamaCppVersion(import.meta.url)
      if (!v) return { kind: 'builtin', available: false, detail: 'node-llama-cpp', reason: 'node-llama-cpp is not installed next to Hearth (npm install node-llama-cpp@3.21.1)' }
      return { kind: 'builtin', available: true, detail: runtime ?? `node-llama-cpp ${v} (llama.cpp on the CPU, in a child process)` }
    },
    async run(spec: LoaderRunSpec, hooks: LoaderHooks): Promise<LoaderTimings> {
      const argv = [...spec.wrap, ...builtinLoaderCommand(), spec.modelPath, String(spec.tokens), String(spec.contextSize), spec.prompt]
      const env = { ...process.env, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) }
      const proc = startLoaderProcess(argv, { env, extraPipe: true })
      try {
        hooks.started(proc.pid)
        const next = eventReader(proc.child.stdio[3] as Readable, proc, spec.signal)
        const expect = async <K extends ChildEvent['event']>(kind: K): Promise<Extract<ChildEvent, { event: K }>> => {
          const e = await next()
          if (e.event !== kind) throw new LoaderFailure('INTERNAL', `the built-in loader said ${e.event} where ${kind} was due`, proc.output())
          return e as Extract<ChildEvent, { event: K }>
        }
        runtime = (await expect('ready')).runtime
        await hooks.beforeLoad()
        const loadStartedAtMs = Date.now()
        proc.child.stdin!.write('go\n')
        const loaded = await expect('loaded')
        await expect('first-token')
        const done = await expect('done')
        await hooks.beforeExit()
        proc.child.stdin!.write('exit\n')
        return {
          loadStartedAtMs,
          loadMs: loaded.ms,
          firstTokenMs: done.firstTokenMs,
          tokens: done.tokens,
          tokensPerSec: tokensPerSecond(done.tokens, done.firstTokenMs, done.lastTokenMs),
        }
      } finally {
        await proc.stop(5000)
      }
    },
  }
}
