// What every `hearth` subcommand gets: a backend made on demand (the CLI calls it directly,
// no transport), output streams, and whether stdout is a terminal (progress bars only there).
import type { Backend } from '../backend'

export interface CliIo {
  out(text: string): void
  err(text: string): void
  /** stdout is a terminal: draw progress bars and colours */
  isTTY: boolean
  columns: number
  /** The backend, created on first use (not started: no watchers or samplers). */
  backend(): Promise<Backend>
  /** Resolves when the user presses Ctrl-C (for commands that hold until interrupted). */
  interrupted: Promise<void>
  signal: AbortSignal
}

export interface CliCommand {
  name: string
  summary: string
  usage: string
  /** Returns the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}
