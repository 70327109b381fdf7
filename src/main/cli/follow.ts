// Following jobs from the command line: a redrawn progress line per job on a terminal, one
// JSON object per update with --json, the final notes otherwise. Ctrl-C cancels them.
import type { Job } from '../../shared/api'
import type { Backend } from '../backend'
import type { CliIo } from './command'
import { progressLine } from './output'

const ended = (j: Job) => j.status === 'done' || j.status === 'failed' || j.status === 'cancelled'

/** Shows progress of the given jobs until all end; resolves them. Ctrl-C cancels them. */
export async function follow(backend: Backend, started: Job[], io: CliIo, json: boolean): Promise<Job[]> {
  const ids = new Set(started.map((j) => j.id))
  const last = new Map(started.map((j) => [j.id, j]))
  let drawn = false
  const draw = () => {
    if (!io.isTTY || json) return
    const lines = [...last.values()].map((j) => progressLine(j, io.columns))
    process.stdout.write((drawn ? `\x1b[${lines.length}A` : '') + lines.map((l) => `\r\x1b[2K${l}\n`).join(''))
    drawn = true
  }
  const off = backend.subscribe('jobs', (j) => {
    if (!ids.has(j.id)) return
    last.set(j.id, j)
    if (json) io.out(JSON.stringify(j))
    draw()
  })
  const onInterrupt = () => {
    for (const id of ids) backend.ctx.jobs.cancel(id)
  }
  io.signal.addEventListener('abort', onInterrupt, { once: true })
  try {
    draw()
    const finals = await Promise.all(started.map((j) => (ended(j) ? j : backend.ctx.jobs.wait(j.id))))
    for (const j of finals) last.set(j.id, j)
    draw()
    return finals
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
