// The stage and unstage verbs: resolve models to real files, check capacity with numbers, and
// run each as a job through the helper (files of other users through the admin helper, which
// asks for a password each time).
import { realpath } from 'node:fs/promises'
import { HearthError, type Job } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import type { ResolvedFile } from '../../context'
import type { RequestOptions } from '../../helper-client'
import { deviceKeyOf } from '../jobs'
import { readMemInfo } from '../warm/meminfo'
import type { StagingDeps } from './deps'
import type { StagingStateStore } from './state'

export function createStageVerbs(deps: StagingDeps, state: StagingStateStore) {
  const { catalog, jobs, helper } = deps

  async function resolveReal(targets: string[]): Promise<(ResolvedFile & { real: string })[]> {
    const files = await catalog.resolve(targets)
    return Promise.all(files.map(async (f) => ({ ...f, real: await realpath(f.path) })))
  }

  function labelOf(files: ResolvedFile[]): string {
    const ids = [...new Set(files.map((f) => f.modelId).filter(Boolean))] as string[]
    const names = ids.map((id) => catalog.current().models.find((m) => m.id === id)?.name ?? id)
    // files of no model (outside the catalog) by their paths, beside the models'
    return [...names, ...files.filter((f) => !f.modelId).map((f) => f.path)].join(', ')
  }

  /**
   * Stages one file: through the session helper, or, for a file of another user that the helper
   * refuses (staging would freeze it for its owner), through the admin helper, which asks for an
   * administrator's password. Returns whether the admin helper did it.
   */
  async function stageFile(path: string, reserve: number, opts: RequestOptions): Promise<boolean> {
    const fields = { path, reserve: String(reserve) }
    try {
      await helper.request('stage', fields, opts)
      return false
    } catch (err) {
      const detail = (err as HearthError).detail as Record<string, unknown> | undefined
      if (!(err instanceof HearthError) || err.code !== 'PERMISSION' || detail?.foreign !== '1') throw err
      const admin = helper.adminStatus()
      if (!admin.available) {
        throw new HearthError(
          'PERMISSION',
          `${err.message}. That is not possible here: ${admin.reason}. Or stage a copy you own (copy the file into your own model folder)`,
          detail,
        )
      }
      await helper.requestAsAdmin('stage', fields, opts)
      return true
    }
  }

  async function stage(targets: string[]): Promise<Job> {
    state.requireHelper()
    const files = await resolveReal(targets)
    const already = new Set((await state.status({ start: true })).staged.map((s) => s.path))
    const todo = files.filter((f) => !already.has(f.real))
    const total = todo.reduce((s, f) => s + f.bytes, 0)
    const reserve = state.reserveBytes()
    const avail = (await readMemInfo()).memAvailableBytes
    // The whole model at once, so a refusal names the model's size rather than one shard's.
    if (total > avail - reserve) {
      throw new HearthError(
        'TOO_LARGE',
        `staging ${labelOf(files)} needs ${formatBytes(total)}, ${formatBytes(Math.max(0, avail - reserve))} available after the ${formatBytes(reserve)} reserve; free RAM, unstage something, or lower the reserve in settings`,
        { needBytes: total, availableBytes: avail, reserveBytes: reserve },
      )
    }
    const handle = jobs.run({
      kind: 'stage',
      label: labelOf(files),
      modelId: files[0]?.modelId,
      paths: files.map((f) => f.path),
      device: await deviceKeyOf(files[0].real),
      totalBytes: total,
      work: async (progress, signal) => {
        let viaAdmin = 0
        for (const f of todo) {
          let seen = 0
          const onProgress = (done: number) => {
            progress.add(done - seen)
            seen = done
          }
          if (await stageFile(f.real, reserve, { signal, onProgress })) viaAdmin++
          progress.add(f.bytes - seen)
        }
        void state.refresh()
        return (
          `staged ${formatBytes(total)} in ${todo.length} file${todo.length === 1 ? '' : 's'}` +
          (files.length > todo.length ? `, ${files.length - todo.length} already staged` : '') +
          (viaAdmin ? `; ${viaAdmin} file${viaAdmin === 1 ? '' : 's'} of another user, with an administrator's password` : '')
        )
      },
    })
    handle.done.then(() => state.refresh())
    return handle.job
  }

  async function unstage(targets: string[], lazy = false): Promise<Job> {
    state.requireHelper()
    const files = await resolveReal(targets)
    const staged = new Set((await state.status({ start: true })).staged.map((s) => s.path))
    const todo = files.filter((f) => staged.has(f.real))
    if (todo.length === 0) throw new HearthError('NOT_FOUND', `${labelOf(files)} is not staged; see \`hearth status\``)
    const handle = jobs.run({
      kind: 'unstage',
      label: labelOf(files),
      modelId: files[0]?.modelId,
      paths: todo.map((f) => f.path),
      device: `unstage`,
      totalBytes: todo.reduce((s, f) => s + f.bytes, 0),
      work: async (progress) => {
        const held: string[] = []
        for (const f of todo) {
          const r = await helper.request('unstage', { path: f.real, lazy: lazy ? '1' : '0' })
          if (r.fields.lazy === '1') held.push(`${f.path} (held by ${r.items[0]?.fields.holders ?? '?'})`)
          progress.add(f.bytes)
        }
        return held.length > 0
          ? `detached lazily: the RAM stays in use, unseen, until these exit: ${held.join('; ')}`
          : `unstaged ${todo.length} file${todo.length === 1 ? '' : 's'}`
      },
    })
    handle.done.then(() => state.refresh())
    return handle.job
  }

  return { stage, unstage }
}
