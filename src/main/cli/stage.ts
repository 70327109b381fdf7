// `hearth stage`, `unstage`, `off` and `sysctl inotify`: RAM-disk staging and the inotify fix,
// through the privileged helper (run `sudo hearth …`, or pkexec asks once per session).
import { parseArgs } from 'node:util'
import type { HearthApi, Job } from '../../shared/api'
import { formatBytes } from '../../shared/format'
import { UsageError, type CliCommand, type CliIo } from './command'
import { table } from './output'
import { follow, report } from './follow'

async function followOne(backend: HearthApi, job: Job, io: CliIo, json: boolean): Promise<number> {
  return report(await follow(backend, [job], io, json), io, json)
}

export const stageCommand: CliCommand = {
  name: 'stage',
  // Files of other users (e.g. the Ollama service's blobs) would be frozen for their owner while
  // staged: those ask for an administrator's password each time (hearth-helper-admin), or are
  // refused with the reason where that is not possible.
  summary: "copy models into a RAM disk, mounted over the originals (for direct-I/O loaders); other users' files ask for an admin password",
  usage: 'hearth stage MODEL|PATH ... [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } })
    if (positionals.length === 0) throw new UsageError('name at least one model or file')
    const backend = await io.backend()
    return followOne(backend, await backend.stage({ targets: positionals }), io, Boolean(values.json))
  },
}

export const unstageCommand: CliCommand = {
  name: 'unstage',
  summary: 'unmount RAM-disk copies (refuses while a process holds them, unless --lazy)',
  usage: 'hearth unstage MODEL|PATH ... [--lazy] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, lazy: { type: 'boolean' } },
    })
    if (positionals.length === 0) throw new UsageError('name at least one model or file')
    const backend = await io.backend()
    return followOne(backend, await backend.unstage({ targets: positionals, lazy: values.lazy }), io, Boolean(values.json))
  },
}

export const offCommand: CliCommand = {
  name: 'off',
  summary: 'undo everything Hearth did: stages, locks, runtime sysctl changes, the lab\'s memory pressure',
  usage: 'hearth off [--dry-run] [--json]',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, 'dry-run': { type: 'boolean' } } })
    const backend = await io.backend()
    const preview = await backend.offPreview()
    if (values['dry-run'] || preview.nothingToUndo) {
      if (values.json) io.out(JSON.stringify(preview, null, 2))
      else if (preview.nothingToUndo) io.out(preview.problems.length ? 'nothing Hearth can undo from here' : 'nothing to undo')
      else {
        io.out('off would undo:')
        for (const s of preview.staged) io.out(`  unstage ${s.path} (${formatBytes(s.bytes)})`)
        for (const l of preview.locks) io.out(`  unlock  ${l.path} (${formatBytes(l.bytes)}, ${l.holder === 'hearth' ? 'held by Hearth itself' : 'held by the helper'})`)
        for (const c of preview.sysctls) io.out(`  restore ${c.key} = ${c.original} (now ${c.value})`)
        if (preview.pressureHeldBytes) io.out(`  release ${formatBytes(preview.pressureHeldBytes)} of locked dummy memory (the load lab's memory pressure)`)
        for (const h of preview.holders) io.out(`  note: ${h.command} (pid ${h.pid}) holds ${h.path}: its RAM stays in use until it exits`)
      }
      if (!values.json) for (const p of preview.problems) io.err(`note: ${p}`)
      return preview.problems.length > 0 && preview.nothingToUndo && !values['dry-run'] ? 1 : 0
    }
    const r = await backend.off()
    if (values.json) io.out(JSON.stringify(r, null, 2))
    else {
      for (const p of r.unstaged) io.out(`unstaged ${p}`)
      for (const l of r.lazy) io.out(`detached ${l.path}: still held by ${l.holders}; its RAM stays in use until they exit`)
      if (r.unlocked) io.out(`unlocked ${r.unlocked} file${r.unlocked === 1 ? '' : 's'}`)
      for (const s of r.sysctlsRestored) io.out(`restored ${s.key} = ${s.value}`)
      if (r.pressureReleasedBytes) io.out(`released ${formatBytes(r.pressureReleasedBytes)} of locked dummy memory`)
      if (r.cgroupsRemoved) io.out(`removed ${r.cgroupsRemoved} load-lab memory cgroup${r.cgroupsRemoved === 1 ? '' : 's'}`)
      for (const p of r.problems) io.err(`not undone: ${p}`)
      if (r.failed) io.err(`${r.failed} thing${r.failed === 1 ? '' : 's'} could not be undone`)
    }
    return r.failed ? 1 : 0
  },
}

export const sysctlCommand: CliCommand = {
  name: 'sysctl',
  summary: 'show inotify limits against what model apps need; --apply raises them, --persist keeps them',
  usage: 'hearth sysctl inotify [--apply] [--persist] [--revert] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, apply: { type: 'boolean' }, persist: { type: 'boolean' }, revert: { type: 'boolean' } },
    })
    if (positionals[0] !== 'inotify' || positionals.length !== 1) throw new UsageError('the only group is `inotify`')
    const backend = await io.backend()
    const s =
      values.apply || values.persist || values.revert
        ? await backend.inotifyFix({ persist: values.persist, revert: values.revert })
        : await backend.inotifyStatus()
    if (values.json) {
      io.out(JSON.stringify(s, null, 2))
      return 0
    }
    const rows = [['KEY', 'NOW', 'ADVICE', 'PERSISTED', '']]
    for (const l of [s.instances, s.watches])
      rows.push([l.key, String(l.value), String(l.recommended), l.persisted === null ? '-' : String(l.persisted), l.ok ? 'ok' : 'LOW'])
    io.out(table(rows, [1, 2, 3]))
    io.out(s.explanation)
    if (!s.instances.ok || !s.watches.ok) io.out('fix: hearth sysctl inotify --apply --persist')
    return 0
  },
}
