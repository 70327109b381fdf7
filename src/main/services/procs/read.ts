// Readers of one process's /proc files. Each parser takes the file's text, so it is tested on
// recorded and deliberately broken samples as well as live files; a reader never throws: a file
// that is missing, refused or malformed comes back as { ok: false, reason }.
import { readFile } from 'node:fs/promises'

export type Read<T> = { ok: true; value: T } | { ok: false; reason: string }

export const unknown = (reason: string): { ok: false; reason: string } => ({ ok: false, reason })

/** Why a read failed, for people. */
export function readFailure(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return `${path} does not exist`
  if (code === 'EACCES' || code === 'EPERM') return `${path} is not readable by this user (${code}); run as root (sudo hearth doctor) to see it`
  if (code === 'ESRCH') return `${path}: the process exited`
  return `${path} could not be read: ${(err as Error).message ?? String(err)}`
}

/** Reads and parses; a parser returning null means "malformed". */
export async function readParsed<T>(path: string, parse: (text: string) => T | null, encoding: BufferEncoding = 'utf8'): Promise<Read<T>> {
  let text: string
  try {
    text = await readFile(path, encoding)
  } catch (err) {
    return unknown(readFailure(path, err))
  }
  try {
    const value = parse(text)
    return value === null ? unknown(`${path} is malformed (${describeText(text)})`) : { ok: true, value }
  } catch (err) {
    return unknown(`${path} is malformed: ${(err as Error).message}`)
  }
}

function describeText(text: string): string {
  if (text.length === 0) return 'empty'
  const first = text.split('\n', 1)[0].slice(0, 60)
  return `starts ${JSON.stringify(first)}`
}

export interface ProcStatus {
  name: string
  /** Real uid (inotify and RLIMIT accounting are per real user) */
  uid: number
  euid: number
  rssAnonBytes: number | null
  rssFileBytes: number | null
  vmLckBytes: number | null
}

/** /proc/PID/status; null when the Uid line is missing or not numbers. */
export function parseStatus(text: string): ProcStatus | null {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]
  const uids = field('Uid')?.trim().split(/\s+/).map(Number)
  if (!uids || uids.length < 2 || uids.some((n) => !Number.isInteger(n))) return null
  const kb = (k: string) => {
    const m = /^(\d+)\s*kB$/.exec(field(k)?.trim() ?? '')
    return m ? Number(m[1]) * 1024 : null
  }
  return { name: field('Name')?.trim() ?? '?', uid: uids[0], euid: uids[1], rssAnonBytes: kb('RssAnon'), rssFileBytes: kb('RssFile'), vmLckBytes: kb('VmLck') }
}

export interface Limit {
  /** null: unlimited */
  soft: number | null
  hard: number | null
  units: string
}

/** /proc/PID/limits by the limit's name ("Max locked memory"); null when no line parses. */
export function parseLimits(text: string): Map<string, Limit> | null {
  const out = new Map<string, Limit>()
  for (const line of text.split('\n')) {
    // Columns are fixed-width: the name runs up to two spaces before the soft value.
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)\s*(\S*)\s*$/.exec(line)
    if (!m) continue
    const num = (s: string) => (s === 'unlimited' ? null : /^\d+$/.test(s) ? Number(s) : NaN)
    const soft = num(m[2])
    const hard = num(m[3])
    if (Number.isNaN(soft) || Number.isNaN(hard)) continue
    out.set(m[1], { soft, hard, units: m[4] })
  }
  return out.size > 0 ? out : null
}

export interface Fdinfo {
  /** Open flags (octal in the file) */
  flags: number
  /** Number of "inotify wd:" lines (watches of an inotify instance) */
  inotifyWatches: number
}

export const O_DIRECT = 0o40000

/** /proc/PID/fdinfo/FD; null without a valid octal flags line. */
export function parseFdinfo(text: string): Fdinfo | null {
  const m = /^flags:\s*([0-7]+)\s*$/m.exec(text)
  if (!m) return null
  return { flags: parseInt(m[1], 8), inotifyWatches: text.match(/^inotify wd:/gm)?.length ?? 0 }
}

/** /proc/PID/environ (NUL-separated). */
export function parseEnviron(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=')
    if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1))
  }
  return out
}

/** /proc/PID/cmdline as argv. */
export function parseCmdline(text: string): string[] {
  return text.split('\0').filter((s) => s.length > 0)
}

export interface ProcCgroups {
  /** The unified (v2) path: the "0::" line */
  unified: string | null
  /** v1 paths by controller ("memory" → "/user.slice") */
  v1: Map<string, string>
}

/** /proc/PID/cgroup; null when no line has the hierarchy:controllers:path shape. */
export function parseProcCgroup(text: string): ProcCgroups | null {
  let unified: string | null = null
  const v1 = new Map<string, string>()
  let lines = 0
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line)
    if (!m) continue
    lines++
    if (m[1] === '0' && m[2] === '') unified = m[3]
    else for (const c of m[2].split(',')) v1.set(c, m[3])
  }
  return lines > 0 ? { unified, v1 } : null
}

/** Convenience readers for /proc/PID/*. */
export function procReaders(procRoot = '/proc') {
  const at = (pid: number | 'self', file: string) => `${procRoot}/${pid}/${file}`
  return {
    status: (pid: number | 'self') => readParsed(at(pid, 'status'), parseStatus),
    limits: (pid: number | 'self') => readParsed(at(pid, 'limits'), parseLimits),
    fdinfo: (pid: number, fd: number) => readParsed(at(pid, `fdinfo/${fd}`), parseFdinfo),
    environ: (pid: number | 'self') => readParsed(at(pid, 'environ'), parseEnviron),
    cmdline: (pid: number | 'self') => readParsed(at(pid, 'cmdline'), parseCmdline),
    cgroup: (pid: number | 'self') => readParsed(at(pid, 'cgroup'), parseProcCgroup),
    path: at,
  }
}
