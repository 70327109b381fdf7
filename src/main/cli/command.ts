// What every `hearth` subcommand gets: a backend made on demand (the running daemon's over its
// UNIX socket when one runs, else one of its own called directly), output streams, and whether
// stdout is a terminal (progress bars only there).
import type { Backend } from '../backend'
import type { CliBackend } from '../daemon/attach'

export interface CliIo {
  out(text: string): void
  err(text: string): void
  /** stdout is a terminal: draw progress bars and colours */
  isTTY: boolean
  columns: number
  /**
   * The backend, on first use: this user's running daemon when there is one (jobs and pins live
   * there), else one of this process's own (not started: no watchers or samplers).
   */
  backend(): Promise<CliBackend>
  /** A backend of this process's own, never attached (for commands that become the daemon) */
  localBackend(): Promise<Backend>
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
