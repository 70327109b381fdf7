// Which processes map a file, matched by device + inode (a path can point at another inode after
// a bind mount or a rename). Mapped pages cannot be dropped by DONTNEED, so evict names them.
// The scan itself is services/procs'.
import { readFile } from 'node:fs/promises'
import { scanProcesses } from '../procs'

export interface Holder {
  pid: number
  command: string
}

export async function processesMapping(dev: number, ino: number): Promise<Holder[]> {
  const procs = await scanProcesses({ maps: true, fds: false, keep: (d, i) => d === dev && i === ino })
  return procs.filter((p) => p.maps?.length).map((p) => ({ pid: p.pid, command: p.comm }))
}

const hearthArgv = /(^|\/)(hearth(\.js)?|hearth-helper[\w-]*|out\/main\/(cli|index)\.js)$/

/**
 * "hearth lock qwen" when the process is a Hearth (the CLI, the app, serve, its helper), else
 * null: its command line names the hearth script or binary among its first arguments.
 */
export async function hearthCommandOf(pid: number, proc = '/proc'): Promise<string | null> {
  const argv = (await readFile(`${proc}/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean)
  const at = argv.slice(0, 3).findIndex((a) => hearthArgv.test(a))
  if (at < 0) return null
  const line = ['hearth', ...argv.slice(at + 1)].join(' ')
  return line.length > 80 ? `${line.slice(0, 79)}…` : line
}
