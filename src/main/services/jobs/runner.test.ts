import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { HearthError, type Job } from '../../../shared/api'
import { createHub } from '../../hub'
import { createJobRunner, deviceKeyOf } from '.'

function gate() {
  let open!: () => void
  const p = new Promise<void>((ok) => (open = ok))
  return { p, open }
}

describe('job runner', () => {
  it('runs one job per device at a time, devices in parallel, and joins a repeated request', async () => {
    const hub = createHub()
    const runner = createJobRunner({ hub })
    const g1 = gate()
    const started: string[] = []
    const spec = (label: string, device: string, g = gate()) => ({
      kind: 'warm' as const,
      label,
      paths: [`/x/${label}`],
      device,
      totalBytes: 10,
      work: async (_p: unknown, signal: AbortSignal) => {
        started.push(label)
        await Promise.race([g.p, new Promise((_, no) => signal.addEventListener('abort', () => no(new Error('stop'))))])
        return `${label} done`
      },
    })
    const a = runner.run(spec('a', 'disk:sda', g1))
    const b = runner.run(spec('b', 'disk:sda'))
    const c = runner.run(spec('c', 'disk:sdb'))
    expect(started).toEqual(['a', 'c'])
    expect(runner.get(b.job.id)?.status).toBe('queued')
    const again = runner.run(spec('a', 'disk:sda'))
    expect(again.joined).toBe(true)
    expect(again.job.id).toBe(a.job.id)
    g1.open()
    expect((await a.done).note).toBe('a done')
    await new Promise((r) => setTimeout(r, 0))
    expect(started).toEqual(['a', 'c', 'b'])
    runner.cancel(b.job.id)
    runner.cancel(c.job.id)
    expect((await b.done).status).toBe('cancelled')
    expect((await c.done).status).toBe('cancelled')
  })

  it('reports progress with a rate and ETA, throttled per job, and failures with their code', async () => {
    const hub = createHub()
    const events: Job[] = []
    hub.subscribe('jobs', (j) => events.push(j))
    const runner = createJobRunner({ hub, publishIntervalMs: 100 })
    const h = runner.run({
      kind: 'warm',
      label: 'ticks',
      paths: ['/x'],
      device: 'd',
      totalBytes: 1000,
      work: async (progress) => {
        for (let i = 0; i < 50; i++) {
          progress.add(10)
          await new Promise((r) => setTimeout(r, 10))
        }
      },
    })
    const end = await h.done
    expect(end.status).toBe('done')
    expect(end.doneBytes).toBe(500)
    const ticks = events.filter((e) => e.status === 'running')
    // 50 progress calls over ~0.5 s come out as a handful of events, not 50
    expect(ticks.length).toBeLessThan(15)
    expect(ticks.some((t) => t.bytesPerSec > 0 && t.etaMs !== null && t.etaMs > 0)).toBe(true)

    const bad = await runner.run({
      kind: 'warm',
      label: 'bad',
      paths: ['/y'],
      device: 'd',
      totalBytes: 1,
      work: async () => {
        throw new HearthError('IO', 'disk said no')
      },
    }).done
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'IO', message: 'disk said no' } })
    expect(() => runner.cancel('nope')).toThrow(/no job nope/)
  })

  it('cancel aborts the running work', async () => {
    const runner = createJobRunner({ hub: createHub() })
    const h = runner.run({
      kind: 'warm',
      label: 'long',
      paths: ['/z'],
      device: 'd',
      totalBytes: 1,
      work: (_p, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))),
    })
    runner.cancel(h.job.id)
    expect((await h.done).status).toBe('cancelled')
  })

  it('maps a file to its whole disk', async () => {
    const key = await deviceKeyOf('/etc/hostname')
    expect(key).toMatch(/^(disk:[a-z0-9]+|dev:\d+:\d+)$/)
    // a whole disk (listed in /sys/block), never a partition
    if (key.startsWith('disk:')) expect(existsSync(`/sys/block/${key.slice(5)}`)).toBe(true)
  })
})
