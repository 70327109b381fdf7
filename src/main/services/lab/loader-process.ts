// A loader as a child process in a process group of its own, so that a crash, a hang or a cancel
// ends it and everything it started (llama-server's workers, a wrapper shell) with one kill, and
// its output is kept (the tail) to report why it failed.
import { spawn, type ChildProcess } from 'node:child_process'
import { HearthError } from '../../../shared/api'
import type { Env } from '../../paths'

const tailChars = 8000

export interface LoaderProcess {
  child: ChildProcess
  pid: number
  /** The last few KiB of stdout and stderr, interleaved as they came */
  output(): string
  /** Settles when the process exits */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM, then SIGKILL after graceMs, to the whole group; resolves when it is gone */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL to the whole group now */
  kill(): void
}

export function startLoaderProcess(argv: string[], opts: { env?: Env; extraPipe?: boolean; onStdout?: (text: string) => void } = {}): LoaderProcess {
  const [cmd, ...args] = argv
  const child = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe', ...(opts.extraPipe ? (['pipe'] as const) : [])],
    env: opts.env as NodeJS.ProcessEnv | undefined,
    detached: true, // a process group of its own: killed as one
  })
  let tail = ''
  const keep = (d: Buffer) => (tail = (tail + d.toString('utf8')).slice(-tailChars))
  child.stdout!.on('data', (d: Buffer) => {
    keep(d)
    opts.onStdout?.(d.toString('utf8'))
  })
  child.stderr!.on('data', keep)
  child.stdin!.on('error', () => {}) // a loader that died does not read its stdin
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => {
    child.once('exit', (code, signal) => ok({ code, signal }))
    child.once('error', (err) => {
      keep(Buffer.from(`\n${err.message}\n`))
      ok({ code: null, signal: null })
    })
  })
  let gone = false
  void exited.then(() => (gone = true))
  const signalGroup = (sig: NodeJS.Signals) => {
    if (!child.pid) return
    try {
      process.kill(-child.pid, sig)
    } catch {
      /* already gone */
    }
  }
  return {
    child,
    pid: child.pid ?? -1,
    output: () => tail.trim(),
    exited,
    async stop(graceMs = 3000) {
      if (!gone) {
        signalGroup('SIGTERM')
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      signalGroup('SIGKILL') // whatever the loader left behind in its group
    },
    kill: () => signalGroup('SIGKILL'),
  }
}

/** The error a loader run ends with, carrying the process's output for the report. */
export class LoaderFailure extends HearthError {
  constructor(code: 'IO' | 'INTERNAL' | 'CANCELLED' | 'UNAVAILABLE' | 'BAD_INPUT' | 'TOO_LARGE', message: string, readonly output: string) {
    super(code, message)
  }
}

/** "exited with code 1", "was killed by SIGKILL (the kernel's OOM killer, if its memory limit was too small)". */
export function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }, limited: boolean): string {
  if (e.signal === 'SIGKILL') return `was killed by SIGKILL${limited ? ' (the memory limit may be too small for the loader itself: the kernel OOM-kills it)' : ''}`
  if (e.signal) return `was killed by ${e.signal}`
  return e.code === null ? 'could not be started' : `exited with code ${e.code}`
}
