// `hearth run MODEL`: the load lab from the command line. A real loader loads the model cold,
// warm and staged (the matrix), repeat times, optionally under a memory limit; progress is the
// job's bar, the result a table, and with --json the last line is
// {model, loader, runs: [{mode, loadMs, firstTokenMs, tokensPerSec, majorFaults, readBytes, residentBeforeBytes, residentAfterBytes, …}]}.
import { parseArgs } from 'node:util'
import { HearthError, type HearthApi, type LabExperiment } from '../../shared/api'
import { labLimitMethods, labLoaderKinds, labModes, type LabLimitMethod, type LabLoaderKind, type LabMode } from '../../shared/lab/kinds'
import { formatBytes } from '../../shared/format'
import { resultLine } from '../../shared/lab/results'
import { UsageError, type CliCommand, type CliIo } from './command'
import { follow } from './follow'
import { table } from './output'

const ms = (v: number | null) => (v === null ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`)
const bytes = (v: number | null) => (v === null ? '-' : formatBytes(v))

function oneOf<T extends string>(what: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${what} must be one of ${allowed.join(', ')} (got "${value}")`)
  return value as T
}

function positiveInt(what: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${what} must be a whole number of at least 1 (got "${value}")`)
  return n
}

function printTable(e: LabExperiment, io: CliIo): void {
  const rows = [['MODE', '#', 'LOAD', '1ST TOKEN', 'TOK/S', 'READ', 'MAJFLT', 'RESIDENT BEFORE→AFTER', 'RSS ANON', 'FROM', 'STATUS']]
  for (const r of e.runs) {
    rows.push([
      r.mode,
      String(r.repeat),
      ms(r.loadMs),
      ms(r.firstTokenMs),
      r.tokensPerSec === null ? '-' : r.tokensPerSec.toFixed(1),
      bytes(r.readBytes),
      r.majorFaults === null ? '-' : String(r.majorFaults),
      `${bytes(r.residentBeforeBytes)} → ${bytes(r.residentAfterBytes)}`,
      bytes(r.rssAnonBytes),
      r.readFrom?.fsType ?? '-',
      r.status,
    ])
  }
  io.out(table(rows, [2, 3, 4, 5, 6, 8]))
  for (const r of e.runs) {
    if (!r.error) continue
    io.err(`${r.mode} #${r.repeat}: ${r.error.message}`)
    if (r.output) io.err(r.output.split('\n').slice(-12).map((l) => `  | ${l}`).join('\n'))
  }
}

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'load a model for real (cold, warm, staged), measured end to end; --leave limits its RAM',
  usage: 'hearth run MODEL [--loader llama-cli|ollama|builtin] [--leave GIB] [--limit-by cgroup|pressure] [--matrix cold,warm,staged,locked] [--repeat N] [--tokens N] [--timeout S] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        loader: { type: 'string' },
        leave: { type: 'string' },
        'limit-by': { type: 'string' },
        matrix: { type: 'string' },
        repeat: { type: 'string' },
        tokens: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
      },
    })
    if (positionals.length !== 1) throw new UsageError('name one model (an id or a unique part of its name, see `hearth models`) or a GGUF path')
    const json = Boolean(values.json)
    const loader = oneOf<LabLoaderKind>('loader', values.loader, labLoaderKinds)
    const limitBy = oneOf<LabLimitMethod>('limit-by', values['limit-by'], labLimitMethods)
    let leaveBytes: number | undefined
    if (values.leave !== undefined) {
      const gib = Number(values.leave)
      if (!Number.isFinite(gib) || gib < 0) throw new UsageError(`--leave takes GiB the model may keep in RAM, a number such as 4 or 0.5 (got "${values.leave}")`)
      leaveBytes = Math.round(gib * 2 ** 30)
    }
    if (limitBy && leaveBytes === undefined) throw new UsageError('--limit-by needs --leave GIB')
    const matrix = values.matrix?.split(',').map((m) => oneOf<LabMode>('matrix', m.trim(), labModes)!)
    const timeoutS = values.timeout === undefined ? undefined : Number(values.timeout)
    if (timeoutS !== undefined && !(timeoutS >= 1)) throw new UsageError(`--timeout takes seconds, at least 1 (got "${values.timeout}")`)

    const backend = await io.backend()
    const started = await backend.labRun({
      target: positionals[0],
      ...(loader ? { loader } : {}),
      ...(matrix ? { matrix } : {}),
      ...(leaveBytes !== undefined ? { leaveBytes, limitBy: limitBy ?? 'cgroup' } : {}),
      ...(values.repeat !== undefined ? { repeat: positiveInt('repeat', values.repeat) } : {}),
      ...(values.tokens !== undefined ? { tokens: positiveInt('tokens', values.tokens) } : {}),
      ...(timeoutS !== undefined ? { timeoutMs: Math.round(timeoutS * 1000) } : {}),
    })
    if (!json) {
      io.out(`${started.model} (${formatBytes(started.bytes)}) with ${started.loaderDetail}; ${started.matrix.join(', ')}${started.repeat > 1 ? ` × ${started.repeat}` : ''}`)
      if (started.memory) io.out(`memory: the model may keep ${formatBytes(started.memory.leaveBytes)} (${started.memory.how})`)
      io.out(started.swap.explanation)
    }
    // Only the contract from here: the experiment may run in the daemon this CLI attached to.
    const job = (await backend.jobs()).find((j) => j.id === started.jobId)
    if (job) await follow(backend, [job], io, json)
    const e = await finished(backend, started.id)
    if (json) io.out(JSON.stringify(resultLine(e)))
    else printTable(e, io)
    if (e.status === 'cancelled') return 130
    return e.runs.every((r) => r.status === 'done') ? 0 : 1
  },
}

/** The experiment once its job's end has been recorded on it (a moment after the job ends). */
async function finished(backend: HearthApi, id: string): Promise<LabExperiment> {
  for (let i = 0; ; i++) {
    const e = (await backend.labStatus()).experiments.find((x) => x.id === id)
    if (!e) throw new HearthError('NOT_FOUND', `experiment ${id} is gone from the lab's history`)
    if (e.status !== 'running' || i >= 100) return e
    await new Promise((r) => setTimeout(r, 50))
  }
}
