// fs.inotify limits against what model apps need. Reading needs no privilege; changing goes
// through the helper (runtime, and persistently in /etc/sysctl.d/60-hearth-inotify.conf).
import { readFile } from 'node:fs/promises'
import type { InotifyLimit, InotifyStatus } from '../../../shared/api'

export const persistFile = '/etc/sysctl.d/60-hearth-inotify.conf'
export const inotifyKeys = {
  watches: { key: 'fs.inotify.max_user_watches', proc: '/proc/sys/fs/inotify/max_user_watches', recommended: 524288 },
  instances: { key: 'fs.inotify.max_user_instances', proc: '/proc/sys/fs/inotify/max_user_instances', recommended: 1024 },
} as const

const explanation =
  'Apps that watch model folders use inotify. Each app instance takes one of max_user_instances ' +
  '(default 128): when they run out, LM Studio fails with "inotify_init failed: Too many open files". ' +
  'Each watched folder takes one of max_user_watches. 1024 instances and 524288 watches are the common advice; ' +
  'the kernel charges memory only for watches in use.'

export async function readPersisted(file = persistFile): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const text = await readFile(file, 'utf8').catch(() => '')
  for (const m of text.matchAll(/^\s*([a-z_.]+)\s*=\s*(\d+)\s*$/gm)) out.set(m[1], Number(m[2]))
  return out
}

export async function inotifyStatusOf(originals: Map<string, number> = new Map(), file = persistFile): Promise<InotifyStatus> {
  const persisted = await readPersisted(file)
  const one = async (k: (typeof inotifyKeys)[keyof typeof inotifyKeys]): Promise<InotifyLimit> => {
    const value = Number((await readFile(k.proc, 'utf8')).trim())
    return {
      key: k.key,
      value,
      recommended: k.recommended,
      persisted: persisted.get(k.key) ?? null,
      original: originals.get(k.key) ?? null,
      ok: value >= k.recommended,
    }
  }
  return { watches: await one(inotifyKeys.watches), instances: await one(inotifyKeys.instances), explanation, persistFile: file }
}
