// Starts and talks to the privileged helper (src/helper): directly when already root (CLI under
// sudo, CI), else through `pkexec /usr/libexec/hearth/hearth-helper`. One helper per session,
// one request at a time on its line protocol (a cancel may overtake), restarted on next use
// after it exits. Says why privileged actions are unavailable when they are. Files of other
// users go, one request at a time, to hearth-helper-admin (its own polkit action, a password
// every time).
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HearthError, errorCodes, type ErrorCode } from '../shared/api'
import type { Env } from './paths'
import { findUp } from './bundle-paths'

export const installedHelperPath = '/usr/libexec/hearth/hearth-helper'
export const installedAdminHelperPath = '/usr/libexec/hearth/hearth-helper-admin'
/** The longest request line the helper reads (protocol.h HP_MAX_LINE, newline included). */
export const maxRequestLineBytes = 16384

/** A binary `make -C src/helper` builds, for development checkouts. */
export function devHelperPath(name = 'hearth-helper'): string {
  // src/main/helper-client.ts in tests and tsx, out/main/chunks/*.js when bundled: the repo
  // root is two or three levels up.
  const here = dirname(fileURLToPath(import.meta.url))
  return findUp(here, `build/helper/${name}`, 3) ?? resolve(here, `../../build/helper/${name}`)
}

/**
 * The caller's uid when this process is root under `sudo` (SUDO_UID, as sudo sets it), else
 * null. The helper acts for that uid: a `sudo hearth …` opens files with the user's own rights.
 */
export function sudoCallerUid(env: Env = process.env, uid = process.getuid?.() ?? -1): number | null {
  if (uid !== 0 || !env.SUDO_UID || !/^(0|[1-9]\d{0,9})$/.test(env.SUDO_UID)) return null
  const n = Number(env.SUDO_UID)
  return n < 4294967295 ? n : null
}

/**
 * The environment a helper is started with: PATH, and SUDO_UID when this process is root under
 * sudo, the documented way to tell the helper whom it acts for (src/helper/README.md). Nothing
 * else reaches it (it clears its environment anyway).
 */
export function helperSpawnEnv(env: Env = process.env, uid = process.getuid?.() ?? -1): Record<string, string> {
  const out: Record<string, string> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }
  const sudo = sudoCallerUid(env, uid)
  if (sudo !== null) out.SUDO_UID = String(sudo)
  return out
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

/** Where the helper binaries are looked for (tests point these elsewhere). */
export interface HelperPaths {
  installed: string
  dev: string
}
const sessionPaths = (): HelperPaths => ({ installed: installedHelperPath, dev: devHelperPath() })
const adminPaths = (): HelperPaths => ({ installed: installedAdminHelperPath, dev: devHelperPath('hearth-helper-admin') })

/** How the helper would be started here, or why it cannot be. */
export function privilegeStatus(
  env: Env = process.env,
  uid = process.getuid?.() ?? -1,
  paths: HelperPaths = sessionPaths(),
): PrivilegeStatus & { launch?: HelperLaunch } {
  const installed = existsSync(paths.installed) ? paths.installed : null
  const dev = existsSync(paths.dev) ? paths.dev : null
  const helperPath = installed ?? dev
  if (!helperPath) {
    const reason = env.APPIMAGE
      ? 'this AppImage cannot carry the privileged helper; install the hearth package (it puts hearth-helper in /usr/libexec/hearth) to stage models and change sysctls'
      : `the privileged helper is not installed (${paths.installed}); install the hearth package, or in a checkout run \`make -C src/helper\``
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
      reason: `polkit only trusts the installed helper; run \`sudo make -C src/helper install\` (puts it in ${paths.installed}), or use \`sudo hearth\``,
    }
  }
  return { available: true, mode: 'pkexec', helperPath, launch: { command: pkexec, args: [paths.installed], mode: 'pkexec', helperPath } }
}

/** How hearth-helper-admin (other users' files, a password every time) would be started, or why not. */
export function adminPrivilegeStatus(env: Env = process.env, uid = process.getuid?.() ?? -1, paths: HelperPaths = adminPaths()) {
  return privilegeStatus(env, uid, paths)
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
  /** Overrides how the admin helper is started; its request line is appended as the last argument */
  adminLaunch?: { command: string; args: string[] }
  env?: Env
  /** Act for this uid (root only; the helper accepts lowering, never raising) */
  uid?: number
}

/** One reply line: `ID KIND …`, split once. */
function splitReply(line: string): { id: number; kind: string; rest: string[] } {
  const [idText, kind, ...rest] = line.split(' ')
  return { id: Number(idText), kind: kind ?? '', rest }
}

/** Feeds one reply line to its request; true when it was the request's final line. */
function deliver(p: Pending, kind: string, rest: string[]): boolean {
  if (kind === 'progress') {
    const f = parseFields(rest)
    p.opts.onProgress?.(Number(f.done), Number(f.total))
  } else if (kind === 'item') {
    p.items.push({ kind: rest[0] ?? '', fields: parseFields(rest.slice(1)) })
  } else if (kind === 'ok') {
    p.resolve({ fields: parseFields(rest), items: p.items })
    return true
  } else if (kind === 'err') {
    p.reject(replyError(rest, p.items))
    return true
  }
  return false
}

function replyError(rest: string[], items: HelperItem[] = []): HearthError {
  const f = parseFields(rest.slice(1))
  const code = (errorCodes as readonly string[]).includes(rest[0]) ? (rest[0] as ErrorCode) : 'INTERNAL'
  const { msg, ...detail } = f
  return new HearthError(code, msg ?? 'helper error', { ...detail, items })
}

/** The request line for verb and fields, or a BAD_INPUT error when it would exceed the helper's limit. */
function requestLine(id: number, verb: string, fields: Record<string, string>): string {
  const line = [String(id), verb, ...Object.entries(fields).map(([k, v]) => `${k}=${encodeValue(v)}`)].join(' ') + '\n'
  if (Buffer.byteLength(line) > maxRequestLineBytes) {
    const what = fields.path !== undefined ? `the path ${fields.path.slice(0, 80)}…` : `the ${verb} request`
    throw new HearthError('BAD_INPUT', `${what} is too long for the helper (over ${maxRequestLineBytes} bytes encoded); a valid path is at most 4095 bytes`)
  }
  return line
}

/** Pkexec's and the helper's exit, as an error for people. */
function exitErrorOf(code: number | null, sig: NodeJS.Signals | null, stderrTail: string, what = 'the helper'): HearthError {
  const tail = stderrTail.trim()
  // pkexec: 126 = the user dismissed the dialog, 127 = not authorised or no agent.
  if (code === 126) return new HearthError('UNAUTHORIZED', 'authentication was dismissed; privileged actions need an administrator password')
  if (code === 127 && /agent/i.test(tail)) return new HearthError('UNAVAILABLE', 'no polkit authentication agent is running; start one (your desktop normally does), or use `sudo hearth` in a terminal')
  if (code === 127) return new HearthError('UNAUTHORIZED', `not authorised to run ${what}${tail ? `: ${tail}` : ''}`)
  return new HearthError('UNAVAILABLE', `${what} exited (${sig ?? `code ${code}`})${tail ? `: ${tail}` : ''}`)
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
  private startedWith: HelperLaunch | null = null
  helloFields: Record<string, string> = {}

  constructor(private readonly opts: HelperClientOptions = {}) {}

  status(): PrivilegeStatus {
    if (this.opts.launch) return { available: true, mode: 'root', helperPath: this.opts.launch.command }
    // A helper that runs is available, however this process changed since it started it.
    if (this.child && this.startedWith) return { available: true, mode: this.startedWith.mode, helperPath: this.startedWith.helperPath }
    const { launch: _l, ...s } = privilegeStatus(this.opts.env)
    return s
  }

  /** Whether files of other users can be staged here (hearth-helper-admin), and why not. */
  adminStatus(): PrivilegeStatus {
    if (this.opts.adminLaunch) return { available: true, mode: 'root', helperPath: this.opts.adminLaunch.command }
    // A client told how to start its helper (tests) never falls back to the real admin helper.
    if (this.opts.launch) return { available: false, mode: 'none', helperPath: null, reason: 'no admin helper is set up for this helper client' }
    const { launch: _l, ...s } = adminPrivilegeStatus(this.opts.env)
    return s
  }

  /**
   * One request to hearth-helper-admin, which performs it and exits: pkexec asks for an
   * administrator's password every time (none when this process is root). Only `stage` is
   * accepted there, for files the caller may read but neither owns nor may write.
   */
  requestAsAdmin(verb: string, fields: Record<string, string> = {}, opts: RequestOptions = {}): Promise<HelperReply> {
    const launch = this.opts.adminLaunch ?? (this.opts.launch ? undefined : adminPrivilegeStatus(this.opts.env).launch)
    if (!launch) return Promise.reject(new HearthError('UNAVAILABLE', this.adminStatus().reason ?? 'the admin helper is unavailable'))
    let line: string
    try {
      line = requestLine(1, verb, fields).trimEnd()
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<HelperReply>((resolve, reject) => {
      // The request is argv, fixed before pkexec asks: no other process can swap it afterwards.
      const child = spawn(launch.command, [...launch.args, line], { stdio: ['pipe', 'pipe', 'pipe'], env: helperSpawnEnv(this.opts.env) })
      let buf = ''
      let stderrTail = ''
      let settled = false
      const p: Pending = {
        resolve: (r) => ((settled = true), resolve(r)),
        reject: (e) => ((settled = true), reject(e)),
        items: [],
        opts,
      }
      const onAbort = () => child.stdin!.write('2 cancel target=1\n')
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      child.stdout!.setEncoding('latin1')
      child.stdout!.on('data', (d: string) => {
        buf += d
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const r = splitReply(buf.slice(0, nl))
          buf = buf.slice(nl + 1)
          if (!settled && (r.id === 1 || r.id === 0)) deliver(p, r.kind, r.rest)
        }
      })
      child.stderr!.setEncoding('utf8')
      child.stderr!.on('data', (d: string) => (stderrTail = (stderrTail + d).slice(-2000)))
      child.stdin!.on('error', () => {})
      child.on('error', (err) => settled || p.reject(new HearthError('UNAVAILABLE', `cannot start the admin helper (${launch.command}): ${err.message}`)))
      child.on('close', (code, sig) => {
        opts.signal?.removeEventListener('abort', onAbort)
        if (!settled) p.reject(exitErrorOf(code, sig, stderrTail, 'the admin helper'))
      })
    })
  }

  /** Starts the helper (pkexec asks for a password here) unless it runs already. */
  start(): Promise<void> {
    if (this.child) return Promise.resolve()
    if (this.starting) return this.starting
    const launch = this.opts.launch ?? privilegeStatus(this.opts.env).launch
    if (!launch) return Promise.reject(new HearthError('UNAVAILABLE', this.status().reason ?? 'the privileged helper is unavailable'))
    this.startedWith = 'mode' in launch ? (launch as HelperLaunch) : null
    this.starting = new Promise<void>((ok, fail) => {
      // Fixed argv, no shell; the helper clears its own environment anyway.
      const child = spawn(launch.command, launch.args, { stdio: ['pipe', 'pipe', 'pipe'], env: helperSpawnEnv(this.opts.env) })
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
    return exitErrorOf(code, sig, this.stderrTail)
  }

  private onExit(err: HearthError): void {
    if (!this.child) return
    this.child = null
    this.failPending(err)
    this.emitReset() // its locks died with it
  }

  /** Rejects every request waiting for an answer, so none hangs. */
  private failPending(err: HearthError): void {
    const all = [...this.pending.values()]
    this.pending.clear()
    for (const p of all) p.reject(err)
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
      const { id, kind, rest } = splitReply(this.buf.slice(0, nl))
      this.buf = this.buf.slice(nl + 1)
      if (id === 0 && kind === 'err') {
        // The helper could not tell which request a line was (it could not read its id):
        // whichever it was, it will get no other answer, so fail them all with the reason.
        const e = replyError(rest)
        this.failPending(new HearthError(e.code, `the helper refused a request it could not attribute: ${e.message}`, e.detail))
        continue
      }
      const p = this.pending.get(id)
      if (p && deliver(p, kind, rest)) this.pending.delete(id)
    }
  }

  private send(id: number, verb: string, fields: Record<string, string>, opts: RequestOptions): Promise<HelperReply> {
    if (id === 0) id = this.nextId++
    let line: string
    try {
      line = requestLine(id, verb, fields)
    } catch (err) {
      return Promise.reject(err)
    }
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

let adopted: HelperClient | null = null
/**
 * Hands the backend a helper started earlier in this process: `sudo hearth serve` starts it
 * while still root, then drops to the user (see sudo.ts).
 */
export function adoptSessionHelper(helper: HelperClient): void {
  adopted = helper
}
/** The session's helper client: one adopted earlier, else a new one (started on first use). */
export function sessionHelper(env: Env): HelperClient {
  const h = adopted ?? new HelperClient({ env })
  adopted = null
  return h
}
