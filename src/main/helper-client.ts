// Starts and talks to the privileged helper (src/helper): directly when already root (CLI under
// sudo, CI), else through `pkexec /usr/libexec/hearth/hearth-helper`. One helper per session,
// one request at a time on its line protocol (a cancel may overtake), restarted on next use
// after it exits. Says why privileged actions are unavailable when they are.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HearthError, errorCodes, type ErrorCode } from '../shared/api'
import type { Env } from './paths'

export const installedHelperPath = '/usr/libexec/hearth/hearth-helper'

/** The binary `make -C src/helper` builds, for development checkouts. */
export function devHelperPath(): string {
  // src/main/helper-client.ts in tests and tsx, out/main/chunks/*.js when bundled: the repo
  // root is two or three levels up.
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = ['../../build/helper/hearth-helper', '../../../build/helper/hearth-helper'].map((p) => resolve(here, p))
  return candidates.find((p) => existsSync(p)) ?? candidates[0]
}

export interface HelperLaunch {
  command: string
  args: string[]
  mode: 'root' | 'pkexec'
  helperPath: string
}

export interface PrivilegeStatus {
  available: boolean
  mode: 'root' | 'pkexec' | 'none'
  helperPath: string | null
  /** Why privileged actions are unavailable, and the fix */
  reason?: string
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function which(cmd: string, env: Env): string | null {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir && isExecutable(join(dir, cmd))) return join(dir, cmd)
  }
  return null
}

/** How the helper would be started here, or why it cannot be. */
export function privilegeStatus(env: Env = process.env, uid = process.getuid?.() ?? -1): PrivilegeStatus & { launch?: HelperLaunch } {
  const installed = existsSync(installedHelperPath) ? installedHelperPath : null
  const dev = existsSync(devHelperPath()) ? devHelperPath() : null
  const helperPath = installed ?? dev
  if (!helperPath) {
    const reason = env.APPIMAGE
      ? 'this AppImage cannot carry the privileged helper; install the hearth package (it puts hearth-helper in /usr/libexec/hearth) to stage models and change sysctls'
      : `the privileged helper is not installed (${installedHelperPath}); install the hearth package, or in a checkout run \`make -C src/helper\``
    return { available: false, mode: 'none', helperPath: null, reason }
  }
  if (uid === 0) return { available: true, mode: 'root', helperPath, launch: { command: helperPath, args: [], mode: 'root', helperPath } }
  const pkexec = which('pkexec', env)
  if (!pkexec) {
    return {
      available: false,
      mode: 'none',
      helperPath,
      reason: 'pkexec is not installed; install polkit (pkexec), or run `sudo hearth stage …` from a terminal',
    }
  }
  if (!installed) {
    return {
      available: false,
      mode: 'none',
      helperPath,
      reason: `polkit only trusts the installed helper; run \`sudo make -C src/helper install\` (puts it in ${installedHelperPath}), or use \`sudo hearth\``,
    }
  }
  return { available: true, mode: 'pkexec', helperPath, launch: { command: pkexec, args: [installedHelperPath], mode: 'pkexec', helperPath } }
}

export interface HelperItem {
  kind: string
  fields: Record<string, string>
}
export interface HelperReply {
  fields: Record<string, string>
  items: HelperItem[]
}
export interface RequestOptions {
  onProgress?: (doneBytes: number, totalBytes: number) => void
  signal?: AbortSignal
}

/** Percent-encodes a value the way the helper's parser wants it (UTF-8 bytes). */
export function encodeValue(v: string): string {
  let out = ''
  for (const b of Buffer.from(v, 'utf8')) {
    out += b > 0x20 && b < 0x7f && b !== 0x25 && b !== 0x3d ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}
export function decodeValue(v: string): string {
  const bytes: number[] = []
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(v.slice(i + 1, i + 3))) {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(v.charCodeAt(i) & 0xff)
  }
  return Buffer.from(bytes).toString('utf8')
}

function parseFields(tokens: string[]): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const t of tokens) {
    const eq = t.indexOf('=')
    if (eq > 0) fields[t.slice(0, eq)] = decodeValue(t.slice(eq + 1))
  }
  return fields
}

interface Pending {
  resolve: (r: HelperReply) => void
  reject: (e: Error) => void
  items: HelperItem[]
  opts: RequestOptions
}

export interface HelperClientOptions {
  /** Overrides how the helper is started (tests: nsenter … hearth-helper-test --test-base …) */
  launch?: HelperLaunch | { command: string; args: string[] }
  env?: Env
  /** Act for this uid (root only; the helper accepts lowering, never raising) */
  uid?: number
}

export class HelperClient {
  private child: ChildProcess | null = null
  private starting: Promise<void> | null = null
  private pending = new Map<number, Pending>()
  private nextId = 1
  private buf = ''
  private stderrTail = ''
  private queue: Promise<unknown> = Promise.resolve()
  private resetListeners = new Set<() => void>()
  helloFields: Record<string, string> = {}

  constructor(private readonly opts: HelperClientOptions = {}) {}

  status(): PrivilegeStatus {
    if (this.opts.launch) return { available: true, mode: 'root', helperPath: this.opts.launch.command }
    const { launch: _l, ...s } = privilegeStatus(this.opts.env)
    return s
  }

  /** Starts the helper (pkexec asks for a password here) unless it runs already. */
  start(): Promise<void> {
    if (this.child) return Promise.resolve()
    if (this.starting) return this.starting
    const launch = this.opts.launch ?? privilegeStatus(this.opts.env).launch
    if (!launch) return Promise.reject(new HearthError('UNAVAILABLE', this.status().reason ?? 'the privileged helper is unavailable'))
    this.starting = new Promise<void>((ok, fail) => {
      // Fixed argv, no shell; the helper clears its own environment anyway.
      const child = spawn(launch.command, launch.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } })
      this.child = child
      this.buf = ''
      this.stderrTail = ''
      child.stdout!.setEncoding('latin1')
      child.stdout!.on('data', (d: string) => this.onData(d))
      child.stderr!.setEncoding('utf8')
      child.stderr!.on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-2000)))
      child.stdin!.on('error', () => {})
      child.on('error', (err) => this.onExit(new HearthError('UNAVAILABLE', `cannot start the helper (${launch.command}): ${err.message}`)))
      child.on('exit', (code, sig) => this.onExit(this.exitError(code, sig)))
      this.send(0, 'hello', { version: '1', ...(this.opts.uid !== undefined ? { uid: String(this.opts.uid) } : {}) }, {})
        .then((r) => {
          this.helloFields = r.fields
          ok()
        }, fail)
    }).finally(() => (this.starting = null))
    return this.starting
  }

  private exitError(code: number | null, sig: NodeJS.Signals | null): HearthError {
    const tail = this.stderrTail.trim()
    // pkexec: 126 = the user dismissed the dialog, 127 = not authorised or no agent.
    if (code === 126) return new HearthError('UNAUTHORIZED', 'authentication was dismissed; privileged actions need an administrator password')
    if (code === 127 && /agent/i.test(tail)) return new HearthError('UNAVAILABLE', 'no polkit authentication agent is running; start one (your desktop normally does), or use `sudo hearth` in a terminal')
    if (code === 127) return new HearthError('UNAUTHORIZED', `not authorised to run the helper${tail ? `: ${tail}` : ''}`)
    return new HearthError('UNAVAILABLE', `the helper exited (${sig ?? `code ${code}`})${tail ? `: ${tail}` : ''}`)
  }

  private onExit(err: HearthError): void {
    if (!this.child) return
    this.child = null
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    this.emitReset() // its locks died with it
  }

  private emitReset(): void {
    for (const l of this.resetListeners) l()
  }

  /**
   * Calls listener whenever everything the helper held in its own memory (locks) is gone: it
   * exited, or `off` released it all. Returns the unsubscribe function.
   */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener)
    return () => void this.resetListeners.delete(listener)
  }

  /** Whether a helper process runs now (started earlier in this session). */
  get running(): boolean {
    return this.child !== null && !this.starting
  }

  private onData(d: string): void {
    this.buf += d
    let nl: number
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      const [idText, kind, ...rest] = line.split(' ')
      const p = this.pending.get(Number(idText))
      if (!p) continue
      if (kind === 'progress') {
        const f = parseFields(rest)
        p.opts.onProgress?.(Number(f.done), Number(f.total))
      } else if (kind === 'item') {
        p.items.push({ kind: rest[0] ?? '', fields: parseFields(rest.slice(1)) })
      } else if (kind === 'ok') {
        this.pending.delete(Number(idText))
        p.resolve({ fields: parseFields(rest), items: p.items })
      } else if (kind === 'err') {
        this.pending.delete(Number(idText))
        const f = parseFields(rest.slice(1))
        const code = (errorCodes as readonly string[]).includes(rest[0]) ? (rest[0] as ErrorCode) : 'INTERNAL'
        const { msg, ...detail } = f
        p.reject(new HearthError(code, msg ?? 'helper error', { ...detail, items: p.items }))
      }
    }
  }

  private send(id: number, verb: string, fields: Record<string, string>, opts: RequestOptions): Promise<HelperReply> {
    if (id === 0) id = this.nextId++
    const line = [String(id), verb, ...Object.entries(fields).map(([k, v]) => `${k}=${encodeValue(v)}`)].join(' ') + '\n'
    return new Promise<HelperReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, items: [], opts })
      const onAbort = () => void this.child?.stdin?.write(`${this.nextId++} cancel target=${id}\n`)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      this.child!.stdin!.write(line)
    })
  }

  /** Sends one request (after the ones before it finish) and resolves its ok line and items. */
  request(verb: string, fields: Record<string, string> = {}, opts: RequestOptions = {}): Promise<HelperReply> {
    const run = async () => {
      opts.signal?.throwIfAborted()
      await this.start()
      return this.send(0, verb, fields, opts)
    }
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => {})
    if (verb === 'off') void p.then(() => this.emitReset(), () => {})
    return p
  }

  /**
   * For cheap read-only verbs (residency): sends at once, past any queued request, and only to a
   * helper that already runs, so it never asks for a password. A helper busy with a long verb
   * answers BUSY straight away; one stuck in a verb that does not read its input (a cold lock)
   * is given up on after timeoutMs, and its late answer is dropped.
   */
  requestIfRunning(verb: string, fields: Record<string, string> = {}, timeoutMs = 1000): Promise<HelperReply> {
    if (!this.running) return Promise.reject(new HearthError('UNAVAILABLE', 'the privileged helper is not running in this session'))
    const id = this.nextId++
    const reply = this.send(id, verb, fields, {})
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new HearthError('BUSY', `the helper did not answer ${verb} within ${timeoutMs} ms`))
      }, timeoutMs)
    })
    return Promise.race([reply, late]).finally(() => clearTimeout(timer))
  }

  /** Writes raw bytes (hostile-input tests) and resolves the next reply line. */
  async raw(bytes: Buffer | string): Promise<string> {
    await this.start()
    return new Promise((ok) => {
      const onLine = (d: string) => {
        if (d.includes('\n')) {
          this.child?.stdout?.off('data', onLine)
          ok(d.slice(0, d.indexOf('\n')))
        }
      }
      this.child!.stdout!.on('data', onLine)
      this.child!.stdin!.write(bytes)
    })
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Closes stdin: the helper exits (staged files stay staged; locks end with it). */
  async close(): Promise<void> {
    const c = this.child
    if (!c) return
    await new Promise<void>((ok) => {
      c.once('exit', () => ok())
      c.stdin!.end()
    })
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal)
  }
}
