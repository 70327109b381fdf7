// A daemon has a working directory of its own. A path the CLI was given relative to where the
// user runs it is made absolute before it crosses the socket, in the input fields that name a
// file or a model; a value that is no file here (a model id, part of a name) stays as it is,
// which is how the backend would read it in the CLI's own process.
import { existsSync, statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { HearthApi } from '../../shared/api'

/** Input fields of the contract that take a path (or a model, which may be given as a path). */
const pathFields = new Set(['target', 'targets', 'path', 'model', 'mmproj', 'llamaBinary'])

/**
 * `value` with every relative path in a path field resolved against `cwd`, as the backend reads
 * targets (services/catalog/resolve.ts): a value with a folder in it (./x, ../x, dir/x) is a
 * path; a bare word is a path only when it is a file here (a folder named like a model, say
 * ~/models/qwen, must not hide the model "qwen"). ~/ is the daemon's to expand: same user.
 */
export function withAbsolutePaths(value: unknown, cwd: string, field?: string): unknown {
  if (typeof value === 'string') {
    if (field === undefined || !pathFields.has(field) || value === '' || isAbsolute(value) || value.startsWith('~')) return value
    const abs = resolve(cwd, value)
    if (value.includes('/')) return existsSync(abs) ? abs : value
    return statSync(abs, { throwIfNoEntry: false })?.isFile() ? abs : value
  }
  // An array keeps its field (targets: [...]); an object's entries are fields of their own.
  if (Array.isArray(value)) return value.map((v) => withAbsolutePaths(v, cwd, field))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withAbsolutePaths(v, cwd, k)]))
  return value
}

/** The daemon's API as seen from a caller in `cwd`: every call's input goes through withAbsolutePaths. */
export function callerPathsApi(api: HearthApi, cwd: string): HearthApi {
  const wrapped = Object.entries(api).map(([name, member]) => {
    if (typeof member !== 'function' || name === 'subscribe') return [name, member]
    const call = member as (input?: unknown) => unknown
    return [name, (input?: unknown) => call(input === undefined ? input : withAbsolutePaths(input, cwd))]
  })
  return Object.fromEntries(wrapped) as HearthApi
}
