// The one scanner of /proc/PID/{fd,maps}: which files each process holds open or mapped, matched by
// device + inode (a path can point at another inode after a bind mount or a rename). Holder checks
// (evict, unstage, off) and the Doctor all read processes through here. Sees what this user may
// inspect; a directory the kernel refuses is reported as such, never skipped silently.
// /proc answers from memory: each call is a few microseconds, so they are made synchronously (an
// async call costs more in the thread pool than the work itself, 3x fuser's time for a holder check),
// yielding to the event loop every few milliseconds so a machine with many processes stalls nothing.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'

export interface ProcFd {
  fd: number
  /** readlink of /proc/PID/fd/N: a path, "anon_inode:inotify", "socket:[…]" (when asked for) */
  target?: string
  dev?: number
  ino?: number
}

export interface ProcMapping {
  dev: number
  ino: number
  path: string
  /** Sum of this file's mapped ranges */
  bytes: number
}

export interface ProcInfo {
  pid: number
  comm: string
  /** null when the kernel refused (fdsDenied says why) */
  fds: ProcFd[] | null
  fdsDenied?: string
  maps: ProcMapping[] | null
  mapsDenied?: string
}

export interface ProcScanOptions {
  procRoot?: string
  /** Left out of the scan (the scanning process itself) */
  selfPid?: number
  /** Only these processes (default: all) */
  pids?: number[]
  /** readlink every fd */
  fdTargets?: boolean
  /** stat every fd for its device + inode */
  fdIds?: boolean
  maps?: boolean
  /** Scan descriptors at all (default: when ids or targets are asked for, or with keep) */
  fds?: boolean
  /** Keep only the fds and mappings whose dev:ino passes; processes left with none are dropped */
  keep?: (dev: number, ino: number) => boolean
}

/** Linux's makedev: the dev_t that stat() reports for major:minor (plain arithmetic: this runs per maps line). */
export function makedev(major: number, minor: number): number {
  return (minor % 256) + (major % 4096) * 256 + Math.floor(minor / 256) * 2 ** 20 + Math.floor(major / 4096) * 2 ** 44
}

/** One line of /proc/PID/maps with a file behind it; null for anonymous or malformed lines. */
export function parseMapsLine(line: string): { start: number; end: number; dev: number; ino: number; path: string } | null {
  const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ [0-9a-f]+ ([0-9a-f]+):([0-9a-f]+) (\d+)\s+(.*)$/.exec(line)
  if (!m || m[5] === '0') return null
  return {
    start: parseInt(m[1], 16),
    end: parseInt(m[2], 16),
    dev: makedev(parseInt(m[3], 16), parseInt(m[4], 16)),
    ino: Number(m[5]),
    path: m[6].replace(/ \(deleted\)$/, ''),
  }
}

/** Mapped files of a maps text, one entry per dev:ino with the bytes mapped. */
export function mappedFiles(maps: string, keep?: (dev: number, ino: number) => boolean): ProcMapping[] {
  const byId = new Map<string, ProcMapping>()
  for (const line of maps.split('\n')) {
    const r = parseMapsLine(line)
    if (!r || (keep && !keep(r.dev, r.ino))) continue
    const key = `${r.dev}:${r.ino}`
    const had = byId.get(key)
    if (had) had.bytes += r.end - r.start
    else byId.set(key, { dev: r.dev, ino: r.ino, path: r.path, bytes: r.end - r.start })
  }
  return [...byId.values()]
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err)
}

function fdsOf(dir: string, opts: ProcScanOptions): ProcFd[] {
  const out: ProcFd[] = []
  for (const name of readdirSync(dir)) {
    const fd: ProcFd = { fd: Number(name) }
    if (opts.fdTargets) fd.target = tryOr(() => readlinkSync(`${dir}/${name}`), undefined)
    if (opts.fdIds || opts.keep) {
      const st = tryOr(() => statSync(`${dir}/${name}`), null)
      if (st) {
        fd.dev = st.dev
        fd.ino = st.ino
      }
    }
    if (opts.keep && (fd.dev === undefined || !opts.keep(fd.dev, fd.ino!))) continue
    out.push(fd)
  }
  return out
}

function tryOr<T, F>(f: () => T, fallback: F): T | F {
  try {
    return f()
  } catch {
    return fallback
  }
}

export async function listPids(procRoot = '/proc'): Promise<number[]> {
  return (await readdir(procRoot)).filter((n) => /^\d+$/.test(n)).map(Number)
}

/** One process as the options ask; null when it exited or holds nothing kept. */
function scanOne(base: string, pid: number, wantFds: boolean, opts: ProcScanOptions): ProcInfo | null {
  const info: ProcInfo = { pid, comm: '?', fds: null, maps: null }
  if (wantFds) {
    try {
      info.fds = fdsOf(`${base}/fd`, opts)
    } catch (err) {
      if (errCode(err) === 'ENOENT') return null // exited
      info.fdsDenied = errCode(err)
    }
  }
  if (opts.maps) {
    try {
      info.maps = mappedFiles(readFileSync(`${base}/maps`, 'utf8'), opts.keep)
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ESRCH') return null
      info.mapsDenied = errCode(err)
    }
  }
  if (opts.keep && !info.fds?.length && !info.maps?.length) return null
  info.comm = tryOr(() => readFileSync(`${base}/comm`, 'utf8'), '?').trim()
  return info
}

const sliceMs = 8

export async function scanProcesses(opts: ProcScanOptions = {}): Promise<ProcInfo[]> {
  const proc = opts.procRoot ?? '/proc'
  const pids = (opts.pids ?? (await listPids(proc))).filter((p) => p !== opts.selfPid)
  const wantFds = opts.fds ?? Boolean(opts.fdTargets || opts.fdIds || opts.keep)
  const out: ProcInfo[] = []
  let sliceStart = performance.now()
  for (const pid of pids) {
    const info = scanOne(`${proc}/${pid}`, pid, wantFds, opts)
    if (info) out.push(info)
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise((r) => setImmediate(r))
      sliceStart = performance.now()
    }
  }
  return out.sort((a, b) => a.pid - b.pid)
}
