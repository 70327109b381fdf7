// Test harness: a private mount namespace (held open by a sleeping process) in which helpers are
// started, restarted and killed; the test reads through /proc/PID/root to see that namespace's
// mounts, while the host path still shows the untouched original. Everything is removed in
// dispose(): killing the holder ends the namespace and every mount in it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import type { HearthError } from '../../src/shared/api'
import { HelperClient } from '../../src/main/helper-client'
import { evict } from './files'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const testHelper = join(repoRoot, 'build/helper/hearth-helper-test')
export const prodHelper = join(repoRoot, 'build/helper/hearth-helper')
export const adminHelper = join(repoRoot, 'build/helper/hearth-helper-admin')

export function buildHelper(): void {
  execFileSync('make', ['-s', '-C', join(repoRoot, 'src/helper')], { stdio: 'pipe' })
}

/**
 * bytes of a file the helper takes for a model: the GGUF magic and version 3, then random bytes
 * (the helper checks content, not names: src/helper/model.c).
 */
export function ggufBytes(bytes: number): Buffer {
  const b = randomBytes(bytes)
  b.write('GGUF', 0, 'latin1')
  b.writeUInt32LE(3, 4)
  return b
}

/** A sparse file of `bytes` that the helper takes for a GGUF: the header written, the rest holes; nothing cached. */
export function sparseGguf(path: string, bytes: number): string {
  writeFileSync(path, ggufBytes(4096), { mode: 0o644, flush: true })
  truncateSync(path, bytes)
  evict(path)
  return path
}

/** The environment tests start helpers with: no SUDO_UID, whatever the test runner has. */
const helperEnv = () => ({ PATH: process.env.PATH })

export interface Namespace {
  pid: number
  dir: string
  base: string
  procSys: string
  sysctlD: string
  /** A path as seen inside the namespace */
  inside(path: string): string
  mountinfo(): string
  helper(opts?: { uid?: number; extraArgs?: string[] }): HelperClient
  /** The test build's command line in this namespace, for spawning it by hand */
  helperArgv(extraArgs?: string[]): string[]
  /**
   * Writes input to a fresh helper and collects every line it answers until one matches until;
   * then closes its input. For checking exactly which lines a request got.
   */
  rawLines(input: string, until: RegExp, extraArgs?: string[]): Promise<string[]>
  /** Runs a command inside the namespace, returns the child (caller kills it) */
  spawnInside(cmd: string, args: string[]): ChildProcess
  dispose(): Promise<void>
}

export async function openNamespace(): Promise<Namespace> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-helper-'))
  chmodSync(dir, 0o755) // the unprivileged test uid must reach the files in it
  const procSys = join(dir, 'proc-sys')
  mkdirSync(join(procSys, 'fs/inotify'), { recursive: true })
  writeFileSync(join(procSys, 'fs/inotify/max_user_watches'), '8192\n')
  writeFileSync(join(procSys, 'fs/inotify/max_user_instances'), '128\n')
  const sysctlD = join(dir, 'sysctl.d')
  mkdirSync(sysctlD)
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', 'infinity'], { stdio: 'ignore' })
  // unshare execs sleep once the namespace exists; wait until /proc shows it as sleep.
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep') break
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  const pid = holder.pid!
  const base = join(dir, 'base')
  const clients: HelperClient[] = []
  const children: ChildProcess[] = []
  const helperArgv = (extraArgs: string[] = []) => [
    'nsenter', '-t', String(pid), '-m', '--', testHelper, '--test-base', base, '--test-proc-sys', procSys, '--test-sysctl-d', sysctlD, ...extraArgs,
  ]
  return {
    pid,
    dir,
    base,
    procSys,
    sysctlD,
    inside: (p) => `/proc/${pid}/root${p}`,
    mountinfo: () => readFileSync(`/proc/${pid}/mountinfo`, 'utf8'),
    helper(opts = {}) {
      const [command, ...args] = helperArgv(opts.extraArgs)
      // The admin helper (other users' files) is the test build's one-shot mode, for the same uid.
      const [adminCommand, ...adminArgs] = helperArgv([...(opts.uid !== undefined ? ['--test-uid', String(opts.uid)] : []), '--test-once'])
      const c = new HelperClient({ launch: { command, args }, adminLaunch: { command: adminCommand, args: adminArgs }, uid: opts.uid, env: helperEnv() })
      clients.push(c)
      return c
    },
    helperArgv,
    rawLines(input, until, extraArgs) {
      const [command, ...args] = helperArgv(extraArgs)
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: helperEnv() })
      children.push(child)
      const lines: string[] = []
      return new Promise((ok, fail) => {
        let buf = ''
        child.stdout!.setEncoding('latin1')
        child.stdout!.on('data', (d: string) => {
          buf += d
          let nl: number
          while ((nl = buf.indexOf('\n')) >= 0) {
            lines.push(buf.slice(0, nl))
            buf = buf.slice(nl + 1)
            if (until.test(lines.at(-1)!)) {
              child.stdin!.end()
              ok(lines)
            }
          }
        })
        child.on('exit', () => fail(new Error(`the helper exited before answering ${until}; it said: ${lines.join('\n')}`)))
        child.stdin!.write(input)
      })
    },
    spawnInside(cmd, args) {
      const c = spawn('nsenter', ['-t', String(pid), '-m', '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      children.push(c)
      return c
    },
    async dispose() {
      for (const c of children) c.kill('SIGKILL')
      for (const c of clients) c.kill('SIGKILL')
      holder.kill('SIGKILL')
      await new Promise((r) => holder.once('exit', r))
      // A killed shell's last child (a racer's ln or mv) may still write a file for a moment.
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })
    },
  }
}

/** Mount lines of the helper's tmpfs (source "hearth") in a mountinfo text */
export function hearthMounts(mountinfo: string): string[] {
  return mountinfo.split('\n').filter((l) => / - tmpfs hearth /.test(l))
}

/** Awaits a promise that must reject (the helper refusing), and returns its error. */
export async function refusal(p: Promise<unknown>): Promise<HearthError> {
  try {
    await p
  } catch (e) {
    return e as HearthError
  }
  throw new Error('expected the helper to refuse')
}

/**
 * For test children started as root: starts the test build of the helper acting for UID (what
 * pkexec gives a desktop session) in a private mount namespace with scratch paths for all it
 * could write, then drops this process to UID for good: an ordinary user with a root helper.
 */
export async function startHelperThenBecome(uid: number, scratch: string): Promise<HelperClient> {
  for (const d of ['proc-sys', 'sysctl.d']) mkdirSync(join(scratch, d), { recursive: true })
  const helper = new HelperClient({
    launch: {
      command: 'unshare',
      args: ['-m', '--propagation', 'private', testHelper, '--test-base', join(scratch, 'base'), '--test-proc-sys', join(scratch, 'proc-sys'), '--test-sysctl-d', join(scratch, 'sysctl.d')],
    },
    uid,
    env: helperEnv(),
  })
  await helper.start()
  becomeUser(uid)
  return helper
}

/** For test children started as root: becomes UID (and group UID) for good. */
export function becomeUser(uid: number): void {
  process.setgroups!([uid])
  process.setgid!(uid)
  process.setuid!(uid)
}

/** A child that answers one JSON line per command line; `ask` sends one and reads the reply. */
export function jsonLineChild<Reply>(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const next = async (): Promise<Reply> => {
    const r = await lines.next()
    if (r.done) throw new Error(`the child exited: ${stderr}`)
    return JSON.parse(r.value) as Reply
  }
  const ask = (cmd: string) => (child.stdin!.write(cmd + '\n'), next())
  return { child, next, ask }
}
