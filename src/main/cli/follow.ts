// Following jobs from the command line: a redrawn progress line per job on a terminal, one
// JSON object per update with --json, the final notes otherwise. Ctrl-C cancels them.
import type { HearthApi, Job } from '../../shared/api'
import type { CliIo } from './command'
import { progressLine } from './output'

const ended = (j: Job) => j.status === 'done' || j.status === 'failed' || j.status === 'cancelled'

/**
 * Shows progress of the given jobs until all end; resolves them. Ctrl-C cancels them. Works the
 * same on a backend of our own and on the daemon's (only the contract: events and queries).
 */
export async function follow(backend: HearthApi, started: Job[], io: CliIo, json: boolean): Promise<Job[]> {
  const ids = new Set(started.map((j) => j.id))
  const last = new Map(started.map((j) => [j.id, j]))
  let drawn = false
  const draw = () => {
    if (!io.isTTY || json) return
    const lines = [...last.values()].map((j) => progressLine(j, io.columns))
    process.stdout.write((drawn ? `\x1b[${lines.length}A` : '') + lines.map((l) => `\r\x1b[2K${l}\n`).join(''))
    drawn = true
  }
  let settle = () => {}
  const allEnded = new Promise<void>((ok) => (settle = ok))
  const check = () => {
    if ([...last.values()].every(ended)) settle()
  }
  const update = (j: Job) => {
    if (!ids.has(j.id) || ended(last.get(j.id)!)) return
    last.set(j.id, j)
    if (json) io.out(JSON.stringify(j))
    draw()
    check()
  }
  const off = backend.subscribe('jobs', update)
  const onInterrupt = () => {
    for (const id of ids) void backend.cancelJob({ id }).catch(() => {})
  }
  io.signal.addEventListener('abort', onInterrupt, { once: true })
  // Ctrl-C while the jobs were being set up (the catalog scan): the abort has already happened.
  if (io.signal.aborted) onInterrupt()
  try {
    draw()
    // A job may have ended before the subscription existed: ask once where each one stands.
    for (const j of await backend.jobs()) if (ended(j)) update(j)
    check()
    await allEnded
    draw()
    return started.map((j) => last.get(j.id)!)
  } finally {
    off()
    io.signal.removeEventListener('abort', onInterrupt)
  }
}

export function report(finals: Job[], io: CliIo, json: boolean): number {
  let code = 0
  for (const j of finals) {
    if (j.status === 'done') {
      if (!json) io.out(`${j.kind} ${j.label}: ${j.note ?? 'done'}`)
    } else {
      code = j.status === 'cancelled' ? 130 : 1
      if (!json) io.err(`${j.kind} ${j.label}: ${j.status}: ${j.error?.message ?? ''}`)
    }
  }
  return code
}
