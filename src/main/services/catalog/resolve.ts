// MODEL|PATH arguments → files. An id or a unique name fragment gives the model's files; a path
// inside the catalog gives that file with its model id; any other readable regular file is
// accepted as it is (people measure files Hearth did not find, too).
import { realpath, stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { HearthError, type Catalog, type Model } from '../../../shared/api'
import { printable } from '../../../shared/format'
import type { ResolvedFile } from '../../context'

const looksLikePath = (t: string) => t.startsWith('/') || t.startsWith('./') || t.startsWith('../') || t.startsWith('~/')

function filesOf(m: Model): ResolvedFile[] {
  return m.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: m.id }))
}

const describe = (m: Model) => `${printable(m.name)} (${printable(m.id)})`

async function resolvePathTarget(target: string, catalog: Catalog, home: string): Promise<ResolvedFile | undefined> {
  const abs = target.startsWith('~/') ? resolvePath(home, target.slice(2)) : resolvePath(target)
  let st: Awaited<ReturnType<typeof stat>>
  try {
    st = await stat(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw new HearthError('BAD_INPUT', `${printable(target)} is a symbolic link loop (it leads back to itself); fix or remove the link`, { target })
    if (code === 'EACCES') throw new HearthError('PERMISSION', `${printable(target)}: permission denied (a folder on the way cannot be entered by this user)`, { target })
    return undefined
  }
  if (st.isDirectory()) {
    throw new HearthError('BAD_INPUT', `${printable(target)} is a folder, not a model file; name a file in it, or add it with 'hearth models --add-folder ${printable(target)}'`, { target })
  }
  if (!st.isFile()) {
    throw new HearthError('BAD_INPUT', `${printable(target)} is not a regular file; name a model file, a model id, or part of a model's name (see 'hearth models')`, { target })
  }
  const real = await realpath(abs).catch(() => abs)
  for (const m of catalog.models) {
    const f = m.files.find((x) => x.path === real || x.path === abs)
    if (f) return { path: f.path, bytes: f.bytes, modelId: m.id }
  }
  return { path: real, bytes: st.size }
}

export async function resolveTargets(targets: string[], catalog: Catalog, home: string): Promise<ResolvedFile[]> {
  const out = new Map<string, ResolvedFile>()
  const add = (files: ResolvedFile[]) => files.forEach((f) => out.has(f.path) || out.set(f.path, f))
  for (const target of targets) {
    const t = target.trim()
    if (!t) throw new HearthError('BAD_INPUT', 'an empty model name was given; name a model id, part of its name, or a file path')
    const byId = catalog.models.find((m) => m.id === t)
    if (byId) {
      add(filesOf(byId))
      continue
    }
    if (looksLikePath(t)) {
      const f = await resolvePathTarget(t, catalog, home)
      if (!f) throw new HearthError('NOT_FOUND', `no such file: ${printable(t)}; check the path, or name a model from 'hearth models'`, { target: t })
      add([f])
      continue
    }
    const needle = t.toLowerCase()
    const names = (m: Model) => [m.name, ...(m.tags ?? [])].map((n) => n.toLowerCase())
    const exact = catalog.models.filter((m) => names(m).includes(needle))
    const matches = exact.length > 0 ? exact : catalog.models.filter((m) => names(m).some((n) => n.includes(needle)) || m.id.toLowerCase().includes(needle))
    if (matches.length === 1) {
      add(filesOf(matches[0]))
      continue
    }
    if (matches.length > 1) {
      const shown = matches.slice(0, 10).map(describe)
      throw new HearthError(
        'AMBIGUOUS',
        `"${printable(t)}" matches ${matches.length} models: ${shown.join(', ')}${matches.length > 10 ? ', …' : ''}; use the id or a longer part of the name`,
        { target: t, candidates: matches.map((m) => ({ id: m.id, name: m.name })) },
      )
    }
    // A bare relative name that exists is a path too (and one that is no file says what it is).
    const f = await resolvePathTarget(t, catalog, home)
    if (f) {
      add([f])
      continue
    }
    throw new HearthError('NOT_FOUND', `no model or file matches "${printable(t)}" (${catalog.models.length} models known); run 'hearth models' to see ids and names, or give a file path`, { target: t })
  }
  return [...out.values()]
}
