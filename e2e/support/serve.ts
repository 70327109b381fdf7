// Starts the real `hearth serve` (the built CLI) with a given HOME and returns its URL.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..', '..')

export interface Served {
  url: string
  origin: string
  token: string
  child: ChildProcess
  stop(): Promise<void>
}

/** The environment for a backend that sees only `home`: nothing of the outer machine's model folders. */
export function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of ['OLLAMA_MODELS', 'HF_HOME', 'HF_HUB_CACHE', 'LLAMA_CACHE', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME']) delete env[k]
  return { ...env, ...extra }
}

/** `wrap` runs the server under another command, e.g. `unshare -m` for a private mount namespace. */
export async function startServe(env: NodeJS.ProcessEnv, timeoutMs = 30_000, wrap: string[] = []): Promise<Served> {
  const argv = [process.execPath, join(repoRoot, 'bin', 'hearth.js'), 'serve', '--port', '0']
  const [cmd, ...args] = [...wrap, ...argv]
  const child = spawn(cmd, args, {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hearth serve printed no URL in ${timeoutMs} ms:\n${log}`)), timeoutMs)
    const onData = (d: Buffer) => {
      log += d.toString()
      const m = /Hearth is serving at (http:\/\/\S+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`hearth serve exited (${code}) before printing its URL:\n${log}`))
    })
  })
  const u = new URL(url)
  return {
    url,
    origin: u.origin,
    token: u.searchParams.get('token') ?? '',
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 5000).unref()
      }),
  }
}
