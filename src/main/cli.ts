// `hearth`: the command-line twin of the app. Calls the backend directly (no transport).
// Start-up time is part of every command's time (a warm must finish within 5% of cat's), so
// nothing heavy is imported here: the backend loads on first use, the server only for serve.
import { HearthError } from '../shared/errors'
import { hearthVersion } from './version'
import type { Backend } from './backend'
import type { CliBackend } from './daemon/attach'
import { UsageError, type CliCommand, type CliIo } from './cli/command'
import { modelsCommand } from './cli/models'
import { statusCommand } from './cli/status'
import { serveCommand } from './cli/serve'
import { warmCommand, evictCommand, lockCommand, pinCommand, unpinCommand, jobsCommand, unlockCommand } from './cli/warm'
import { planCommand } from './cli/plan'
import { stageCommand, unstageCommand, offCommand, sysctlCommand } from './cli/stage'
import { tensorsCommand } from './cli/tensors'
import { recordCommand } from './cli/record'
import { doctorCommand } from './cli/doctor'
import { daemonCommand } from './cli/daemon'
import { serviceCommand } from './cli/service'
import { runCommand } from './cli/run'

// One line per command; each lives in src/main/cli/<name>.ts.
const commands: CliCommand[] = [
  modelsCommand,
  statusCommand,
  serveCommand,
  warmCommand,
  evictCommand,
  lockCommand,
  unlockCommand,
  pinCommand,
  unpinCommand,
  jobsCommand,
  planCommand,
  stageCommand,
  unstageCommand,
  offCommand,
  sysctlCommand,
  tensorsCommand,
  recordCommand,
  doctorCommand,
  daemonCommand,
  serviceCommand,
  runCommand,
]

function help(): string {
  const w = 44
  const lines = commands.flatMap((c) =>
    c.usage.length <= w ? [`  ${c.usage.padEnd(w)}  ${c.summary}`] : [`  ${c.usage}`, `  ${''.padEnd(w)}  ${c.summary}`],
  )
  return [
    'hearth — keep local LLM model files hot',
    '',
    'usage:',
    ...lines,
    '',
    'MODEL is a model id or a unique part of its name (see `hearth models`); PATH is a file.',
  ].join('\n')
}

/**
 * The argument parser's words, made the tool's: a negative number after an option reads to it
 * as another option ("argument is ambiguous … use '--leave=-XYZ'"), which helps nobody.
 */
function usageMessage(err: Error, argv: string[]): string {
  const m = /^Option '(--[\w-]+)' argument is ambiguous/.exec(err.message)
  if (!m) return err.message
  const given = argv[argv.indexOf(m[1]) + 1]
  return `${m[1]} ${given}: a negative number is not a valid value for ${m[1]}`
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n')
    return name ? 0 : 2
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`hearth ${hearthVersion}\n`)
    return 0
  }
  const cmd = commands.find((c) => c.name === name)
  if (!cmd) {
    process.stderr.write(`hearth: unknown command "${name}"\n\n${help()}\n`)
    return 2
  }
  const abort = new AbortController()
  let onInterrupt = () => {}
  const interrupted = new Promise<void>((ok) => (onInterrupt = ok))
  let interrupts = 0
  const stop = () => {
    if (++interrupts > 1) process.exit(130)
    abort.abort()
    onInterrupt()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  // `hearth … | head`: the reader has gone, so there is no one left to tell anything; stop
  // quietly, as other tools do, instead of dying of an unhandled EPIPE with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err
      process.exit(0)
    })
  }

  let backend: Promise<Backend> | undefined
  let attached: Promise<CliBackend> | undefined
  const io: CliIo = {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    isTTY: Boolean(process.stdout.isTTY),
    columns: process.stdout.columns || 100,
    localBackend: () => (backend ??= import('./backend').then((m) => m.createBackend())),
    // This user's daemon when one runs (its jobs and pins), else a backend of our own.
    backend: () => (attached ??= import('./daemon/attach').then((m) => m.cliBackend(process.env, io.localBackend))),
    interrupted,
    signal: abort.signal,
  }
  try {
    const code = await cmd.run(rest, io)
    if (attached) await (await attached).stop()
    if (backend) await (await backend).stop()
    return code
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`hearth ${name}: ${usageMessage(err as Error, rest)}\nusage: ${cmd.usage}\n`)
      return 2
    }
    if (err instanceof HearthError) {
      process.stderr.write(`hearth ${name}: ${err.message}\n`)
      return err.code === 'CANCELLED' ? 130 : 1
    }
    // A fault of Hearth's own: the message, and the stack only for whoever asks for it.
    const debug = Boolean(process.env.HEARTH_DEBUG)
    const text = err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err)
    process.stderr.write(`hearth ${name}: ${text}${debug ? '' : ' (HEARTH_DEBUG=1 shows where)'}\n`)
    return 1
  }
}

// The bundle is run as a program by bin/hearth.js; importing it for tests runs nothing.
if (process.env.HEARTH_CLI_MAIN === '1') {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
      // Watchers or pending timers must not keep a finished command alive.
      setTimeout(() => process.exit(code), 50).unref()
    },
    (err) => {
      process.stderr.write(`hearth: ${String(err)}\n`)
      process.exit(1)
    },
  )
}
