// Following jobs from the CLI with the real job runner and hub: a Ctrl-C that came while the jobs
// were being set up (before follow() listened) still cancels them.
import { describe, expect, it } from 'vitest'
import type { HearthApi } from '../../shared/api'
import { createHub } from '../hub'
import { createJobRunner } from '../services/jobs'
import type { CliIo } from './command'
import { follow, report } from './follow'

describe('follow', () => {
  it('cancels jobs when Ctrl-C was pressed before it started following them (exit 130)', async () => {
    const hub = createHub()
    const runner = createJobRunner({ hub })
    // A job that runs until it is cancelled (a long warm).
    const { job } = runner.run({
      kind: 'warm',
      label: 'big model',
      paths: ['/models/big.gguf'],
      device: 'disk:test',
      totalBytes: 1,
      work: (_p, signal) => new Promise((_, no) => signal.addEventListener('abort', () => no(new Error('stop')))),
    })
    const backend = {
      subscribe: (topic: 'jobs', l: (j: unknown) => void) => hub.subscribe(topic, l),
      jobs: async () => runner.list(),
      cancelJob: async ({ id }: { id: string }) => runner.cancel(id),
    } as unknown as HearthApi
    const abort = new AbortController()
    abort.abort() // Ctrl-C during the catalog scan, before the job existed
    const lines: string[] = []
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t), isTTY: false, columns: 80, signal: abort.signal } as unknown as CliIo
    const finals = await Promise.race([
      follow(backend, [job], io, false),
      new Promise<never>((_, no) => setTimeout(() => no(new Error('follow did not end: the job kept running')), 5000)),
    ])
    expect(finals.map((j) => j.status)).toEqual(['cancelled'])
    expect(report(finals, io, false)).toBe(130)
  })
})
