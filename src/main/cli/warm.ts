// `hearth warm|evict|lock|pin|unpin|jobs`: the warm service from the command line. Progress is a
// redrawn line on a terminal, one JSON object per update with --json, and the final notes
// otherwise.
import { parseArgs } from 'node:util'
import type { HearthApi } from '../../shared/api'
import { formatBytes, formatPercent } from '../../shared/format'
import { UsageError, type CliCommand, type CliIo } from './command'
import { table } from './output'
import { follow, report } from './follow'

export const warmCommand: CliCommand = {
  name: 'warm',
  summary: 'read models into the page cache (only what is not resident); returns when warm',
  usage: 'hearth warm MODEL|PATH ... [--force] [--idle] [--low-cpu] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { force: { type: 'boolean' }, idle: { type: 'boolean' }, 'low-cpu': { type: 'boolean' }, json: { type: 'boolean' } },
    })
    if (positionals.length === 0) throw new UsageError('name at least one model or file')
    const backend = await io.backend()
    const jobs = await backend.warm({ targets: positionals, force: values.force, idle: values.idle, lowCpu: values['low-cpu'] })
    return report(await follow(backend, jobs, io, Boolean(values.json)), io, Boolean(values.json))
  },
}

export const evictCommand: CliCommand = {
  name: 'evict',
  summary: 'drop models from the page cache; says what stayed and which process holds it',
  usage: 'hearth evict MODEL|PATH ... [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } })
    if (positionals.length === 0) throw new UsageError('name at least one model or file')
    const reports = await (await io.backend()).evict({ targets: positionals })
    if (values.json) {
      io.out(JSON.stringify(reports))
      return 0
    }
    for (const r of reports) io.out(`evict ${r.job.label}: ${r.job.note ?? r.job.status}`)
    return 0
  },
}

export const lockCommand: CliCommand = {
  name: 'lock',
  summary: 'lock models in RAM (mmap + mlock); holds until Ctrl-C',
  usage: 'hearth lock MODEL|PATH ... [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } })
    if (positionals.length === 0) throw new UsageError('name at least one model or file')
    const backend = await io.backend()
    const finals = await follow(backend, await backend.lock({ targets: positionals }), io, Boolean(values.json))
    const code = report(finals, io, Boolean(values.json))
    if (code !== 0) return code
    if (!values.json) io.err('holding the lock; press Ctrl-C to unlock and exit')
    // A pending promise keeps no process alive: without a terminal on stdin (a service, `&`,
    // nohup) Node would exit here and drop the lock it just said it holds.
    const keepAlive = setInterval(() => {}, 2 ** 30)
    try {
      await io.interrupted
    } finally {
      clearInterval(keepAlive)
    }
    // Attached to the daemon, the lock lives there: let it go as this command promised.
    if (backend.attachedTo) await backend.unlock({ targets: positionals }).catch(() => {})
    return 0
  },
}

export const unlockCommand: CliCommand = {
  name: 'unlock',
  summary: 'release locks this Hearth holds (the app or the daemon, when one runs); no model: list them',
  usage: 'hearth unlock [MODEL|PATH ...] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } })
    const backend = await io.backend()
    const locks = positionals.length ? await backend.unlock({ targets: positionals }) : await backend.locks()
    if (values.json) io.out(JSON.stringify(locks))
    else if (locks.length === 0) io.out(positionals.length ? 'unlocked; nothing else is locked' : 'nothing is locked by this Hearth')
    else io.out(table([['LOCKED', 'BYTES', 'HOLDER', 'SINCE'], ...locks.map((l) => [l.label, formatBytes(l.lockedBytes), `${l.holder}${l.pid ? ` (pid ${l.pid})` : ''}`, new Date(l.sinceMs).toLocaleTimeString()])]))
    return 0
  },
}

async function printPins(backend: HearthApi, io: CliIo): Promise<number> {
  const pins = await backend.pins()
  if (pins.length === 0) io.out('no pinned models')
  else
    io.out(
      table([
        ['MODEL', 'RESIDENT', 'RE-WARMS', 'LAST RE-WARM'],
        ...pins.map((p) => [
          p.modelId,
          p.residentFraction === null ? '?' : formatPercent(p.residentFraction),
          String(p.rewarms),
          p.lastRewarmMs ? `${new Date(p.lastRewarmMs).toLocaleString()} (${formatBytes(p.lastRewarmBytes)})` : '-',
        ]),
      ]),
    )
  return 0
}

export const pinCommand: CliCommand = {
  name: 'pin',
  summary: 'keep a model warm: the app re-warms it at low priority when it drops below the threshold',
  usage: 'hearth pin [MODEL]',
  async run(argv, io) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} })
    const backend = await io.backend()
    if (positionals.length > 1) throw new UsageError('pin one model at a time')
    if (positionals[0]) await backend.pin({ model: positionals[0] })
    return printPins(backend, io)
  },
}

export const unpinCommand: CliCommand = {
  name: 'unpin',
  summary: 'stop keeping a model warm',
  usage: 'hearth unpin MODEL',
  async run(argv, io) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} })
    if (positionals.length !== 1) throw new UsageError('name one pinned model')
    const backend = await io.backend()
    await backend.unpin({ model: positionals[0] })
    return printPins(backend, io)
  },
}

export const jobsCommand: CliCommand = {
  name: 'jobs',
  summary: "list the jobs of this user's Hearth daemon (or of this process when none runs)",
  usage: 'hearth jobs [--json]',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } })
    const jobs = await (await io.backend()).jobs()
    if (values.json) io.out(JSON.stringify(jobs))
    else if (jobs.length === 0) io.out('no jobs')
    else io.out(table([['ID', 'KIND', 'STATUS', 'MODEL', 'NOTE'], ...jobs.map((j) => [j.id, j.kind, j.status, j.label, j.note ?? j.error?.message ?? ''])]))
    return 0
  },
}
