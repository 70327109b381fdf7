// A bounded, loop-safe walk of one root that collects model-ish files per folder. Everything odd
// it meets (unreadable folders, broken links, loops, empty files, too deep, too many entries)
// becomes a skipped entry with a reason a person can act on; it never throws.
import { readdir, readlink, realpath, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { SkippedEntry } from '../../../shared/api'

export interface FoundFile {
  /** The path as found under the root (may be a symlink) */
  path: string
  /** Where it really is (symlinks resolved): the bytes that get cached */
  realPath: string
  name: string
  bytes: number
  mtimeMs: number
}

export interface WalkLimits {
  /** Folders deeper than this below the root are not searched */
  maxDepth: number
  /** Entries (files and folders) looked at per root before the walk stops */
  maxEntries: number
}

export interface WalkHooks {
  /** Test seam: runs after a folder is listed, before its entries are looked at */
  afterList?: (dir: string, names: string[]) => Promise<void> | void
}

export interface WalkOptions extends WalkLimits {
  skipped: SkippedEntry[]
  hooks?: WalkHooks
  /** Folder names not to enter (besides hidden ones) */
  skipDir?: (name: string, path: string) => boolean
}

/** Files the catalog cares about; anything else is ignored without a word. */
export function isModelish(name: string): boolean {
  const n = name.toLowerCase()
  return n.endsWith('.gguf') || n.endsWith('.safetensors') || n.endsWith('.safetensors.index.json')
}

export function errnoReason(err: unknown, what: string): string {
  const e = err as NodeJS.ErrnoException
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${what}: permission denied (give your user read access, or add a folder you can read)`
    case 'ENOENT':
      return `${what} vanished during the scan`
    case 'ELOOP':
      return `symlink loop: the link points back to itself`
    case 'EIO':
      return `cannot read ${what}: I/O error (a failing disk or a dropped network share?)`
    default:
      return `cannot read ${what}: ${e.code ?? e.message}`
  }
}

/** Walks `root`; returns model-ish files grouped by the folder that holds them. */
export async function walkRoot(root: string, opts: WalkOptions): Promise<Map<string, FoundFile[]>> {
  const byDir = new Map<string, FoundFile[]>()
  let entries = 0
  let stopped = false
  const rootReal = await realpath(root).catch(() => root)

  async function visit(dir: string, depth: number, ancestors: string[]): Promise<void> {
    if (stopped) return
    let names: string[]
    try {
      names = (await readdir(dir)).sort()
    } catch (err) {
      opts.skipped.push({ path: dir, reason: errnoReason(err, 'this folder') })
      return
    }
    await opts.hooks?.afterList?.(dir, names)
    const subdirs: Array<[string, string]> = []
    for (const name of names) {
      if (++entries > opts.maxEntries) {
        stopped = true
        opts.skipped.push({
          path: root,
          reason: `stopped after ${opts.maxEntries} entries: this tree is too large to search whole (add the folders that hold models instead)`,
        })
        return
      }
      const path = join(dir, name)
      let st
      try {
        st = await stat(path)
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        if (e.code === 'ENOENT') {
          // stat follows links: ENOENT here is a dangling link or a file deleted since readdir.
          const dangling = await readlink(path).catch(() => undefined)
          if (dangling !== undefined) {
            if (isModelish(name)) opts.skipped.push({ path, reason: `broken symlink → ${dangling} (the target is missing: an incomplete download?)` })
          } else if (isModelish(name)) {
            opts.skipped.push({ path, reason: 'vanished during the scan' })
          }
        } else if (isModelish(name) || e.code === 'ELOOP') {
          opts.skipped.push({ path, reason: errnoReason(err, 'this file') })
        }
        continue
      }
      if (st.isDirectory()) {
        if (name.startsWith('.') || opts.skipDir?.(name, path)) continue
        subdirs.push([name, path])
        continue
      }
      if (!st.isFile() || !isModelish(name)) continue
      if (st.size === 0) {
        opts.skipped.push({ path, reason: 'empty file (0 bytes): an interrupted or placeholder download' })
        continue
      }
      const real = await realpath(path).catch(() => path)
      let list = byDir.get(dir)
      if (!list) byDir.set(dir, (list = []))
      list.push({ path, realPath: real, name, bytes: st.size, mtimeMs: st.mtimeMs })
    }
    for (const [, path] of subdirs) {
      if (stopped) return
      const real = await realpath(path).catch(() => path)
      if (ancestors.includes(real)) {
        opts.skipped.push({ path, reason: `symlink loop: it leads back to ${real}, a folder above it; not followed` })
        continue
      }
      if (depth + 1 > opts.maxDepth) {
        opts.skipped.push({
          path,
          reason: `more than ${opts.maxDepth} folders deep below ${root}; not searched (add this folder itself to scan it)`,
        })
        continue
      }
      await visit(path, depth + 1, [...ancestors, real])
    }
  }

  await visit(root, 0, [rootReal])
  return byDir
}

export const fileStem = (name: string) => basename(name).replace(/\.gguf$/i, '').replace(/\.safetensors$/i, '')
