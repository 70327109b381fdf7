import { describe, expect, it } from 'vitest'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DoctorReport, Finding, Job, Notice, Settings } from '../../../shared/api'
import { createHub } from '../../hub'
import { createNotifyService, notifySendFallback } from '.'

function setup(desktop?: Settings['desktop'], opts: Partial<Parameters<typeof createNotifyService>[0]> = {}) {
  const hub = createHub()
  let t = 1_000_000
  const shown: Notice[] = []
  const settings = { get: () => ({ folders: [], pins: [], keepWarmThreshold: 0.95, lockMaxFraction: 0.5, stagingReserveBytes: 0, desktop }) }
  const svc = createNotifyService({ hub, settings, env: {}, fallback: (n) => shown.push(n), now: () => t, ...opts })
  return { hub, svc, shown, tick: (ms: number) => (t += ms), now: () => t }
}

const job = (over: Partial<Job>): Job => ({
  id: 'j',
  kind: 'warm',
  label: 'Qwen 7B',
  paths: [],
  status: 'done',
  doneBytes: 0,
  totalBytes: 0,
  bytesPerSec: 0,
  etaMs: 0,
  startedAtMs: 0,
  endedAtMs: 60_000,
  ...over,
})

describe('notify', () => {
  it('shows a notice, and the same one again only after the repeat window', () => {
    const { svc, shown, tick } = setup()
    expect(svc.notify('doctor', 'inotify limit low', 'LM Studio will fail').suppressed).toBeUndefined()
    expect(svc.notify('doctor', 'inotify limit low', 'LM Studio will fail').suppressed).toBe('rate-limited')
    tick(11 * 60_000)
    expect(svc.notify('doctor', 'inotify limit low', 'LM Studio will fail').suppressed).toBeUndefined()
    expect(shown).toHaveLength(2)
  })

  it('rate-limits each kind on its own: three a minute', () => {
    const { svc, shown, tick } = setup()
    const results = Array.from({ length: 5 }, (_, i) => svc.notify('jobDone', `warm ${i}`, 'done').suppressed ?? 'shown')
    expect(results).toEqual(['shown', 'shown', 'shown', 'rate-limited', 'rate-limited'])
    expect(svc.notify('doctor', 'other kind', 'x').suppressed).toBeUndefined()
    tick(61_000)
    expect(svc.notify('jobDone', 'warm 9', 'done').suppressed).toBeUndefined()
    expect(shown.map((n) => n.title)).toEqual(['warm 0', 'warm 1', 'warm 2', 'other kind', 'warm 9'])
    expect(svc.recent()).toHaveLength(7) // suppressed ones are kept, marked
  })

  it('a kind turned off in settings is never shown', () => {
    const { svc, shown } = setup({ trayOnClose: true, autostart: false, startInTray: true, warmDelaySeconds: 60, notifications: { jobDone: true, jobFailed: true, pinRewarmed: false, doctor: true } })
    expect(svc.notify('pinRewarmed', 'Qwen kept warm', 'x').suppressed).toBe('off')
    expect(svc.notify('doctor', 'y', 'z').suppressed).toBeUndefined()
    expect(shown.map((n) => n.kind)).toEqual(['doctor'])
  })

  it('goes to the notice topic while a front end listens, to the fallback otherwise', () => {
    const { hub, svc, shown } = setup()
    const got: Notice[] = []
    const off = hub.subscribe('notice', (n) => got.push(n))
    svc.notify('doctor', 'a', 'b')
    off()
    svc.notify('doctor', 'c', 'd')
    expect(got.map((n) => n.title)).toEqual(['a'])
    expect(shown.map((n) => n.title)).toEqual(['c'])
  })

  it('tells about long warms and stages, every re-warm of a pin, and failures; not short jobs', () => {
    const { hub, svc, shown } = setup()
    svc.start()
    hub.publish('jobs', job({ id: '1', status: 'running', endedAtMs: null }))
    hub.publish('jobs', job({ id: '1', note: 'read 4 GiB' }))
    hub.publish('jobs', job({ id: '1', note: 'read 4 GiB' })) // the final state published twice
    hub.publish('jobs', job({ id: '2', endedAtMs: 2_000 })) // 2 s: the user watched it happen
    hub.publish('jobs', job({ id: '3', kind: 'stage', status: 'failed', error: { code: 'PERMISSION', message: 'not your file' } }))
    hub.publish('jobs', job({ id: '4', kind: 'rewarm', endedAtMs: 1_000, note: 'kept warm: residency had dropped to 40%' }))
    hub.publish('jobs', job({ id: '5', kind: 'evict' }))
    svc.stop()
    hub.publish('jobs', job({ id: '6' }))
    expect(shown.map((n) => [n.kind, n.title, n.body])).toEqual([
      ['jobDone', 'Warm finished: Qwen 7B', 'read 4 GiB'],
      ['jobFailed', 'Staging failed: Qwen 7B', 'not your file'],
      ['pinRewarmed', 'Qwen 7B kept warm', 'kept warm: residency had dropped to 40%'],
    ])
  })

  it('tells once per doctor run that found something new, worst first; nothing when nothing is new', () => {
    const { hub, svc, shown } = setup()
    svc.start()
    const finding = (id: string, status: Finding['status'], title: string): Finding => ({ id, check: 'x', status, title, evidence: [], why: `why ${id}` })
    const report = (fresh: Finding[]): DoctorReport => ({ atMs: 0, ms: 1, findings: fresh, newSinceLastRun: fresh })
    hub.publish('doctor', report([]))
    hub.publish('doctor', report([finding('a', 'info', 'fyi')]))
    hub.publish('doctor', report([finding('w', 'warn', 'swap is off'), finding('f', 'fail', 'llama-server reads with O_DIRECT')]))
    svc.stop()
    hub.publish('doctor', report([finding('g', 'fail', 'after stop')]))
    expect(shown.map((n) => [n.kind, n.title, n.body])).toEqual([['doctor', 'Doctor: llama-server reads with O_DIRECT', 'why f (and 1 more: see the Doctor)']])
  })

  it('uses notify-send only where it is installed and a session bus exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-notify-'))
    try {
      const log = join(dir, 'args')
      const bin = join(dir, 'notify-send')
      writeFileSync(bin, `#!/bin/sh\nprintf '%s\\n' "$@" > ${log}\n`)
      chmodSync(bin, 0o755)
      expect(notifySendFallback({ PATH: dir })).toBeNull() // no bus: a system service
      expect(notifySendFallback({ PATH: '/nonexistent', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x' })).toBeNull()
      const send = notifySendFallback({ PATH: dir, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x' })!
      send({ kind: 'jobFailed', title: 'Warm failed: -rf', body: 'EIO', atMs: 0 })
      return expect.poll(() => (() => { try { return readFileSync(log, 'utf8') } catch { return '' } })(), { timeout: 10_000 })
        .toBe('--app-name=Hearth\n--icon=hearth\n--urgency=normal\n--\nWarm failed: -rf\nEIO\n')
        .finally(() => rmSync(dir, { recursive: true, force: true }))
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
  })
})
