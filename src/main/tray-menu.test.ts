import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTrayFeed, trayIconStates, trayMenu, type TrayState, type TrayView } from './tray-menu'

const GiB = 1024 ** 3
const base: TrayState = {
  models: [
    { id: 'a', name: 'Llama 8B', bytes: 4 * GiB },
    { id: 'b', name: 'Qwen 7B', bytes: 4 * GiB },
    { id: 'c', name: 'Gemma 2B', bytes: 2 * GiB },
  ],
  residency: [
    { modelId: 'a', bytes: 4 * GiB, residentBytes: 4 * GiB, unknownBytes: 0 },
    { modelId: 'b', bytes: 4 * GiB, residentBytes: 1 * GiB, unknownBytes: 0 },
    { modelId: 'c', bytes: 2 * GiB, residentBytes: 0, unknownBytes: 0 },
  ],
  pins: ['c'],
  jobs: [],
}

const labels = (s: TrayState) => trayMenu(s).map((i) => (i.type === 'separator' ? '---' : i.label))

describe('tray menu', () => {
  it('lists pinned, then warm models by residency, with percentages, then Evict all, Open, Quit', () => {
    expect(labels(base)).toEqual(['Pinned', '📌 Gemma 2B — 0%', 'Recent', 'Llama 8B — 100%', 'Qwen 7B — 25%', '---', 'Evict all', '---', 'Open Hearth', 'Quit'])
    const warm = trayMenu(base).find((i) => i.type === 'item' && i.label.startsWith('Qwen'))
    expect(warm).toMatchObject({ action: { type: 'warm', modelId: 'b' }, enabled: true })
  })

  it('puts recently warmed models first and shows a running warm (not clickable)', () => {
    const s: TrayState = {
      ...base,
      pins: [],
      jobs: [
        { kind: 'warm', modelId: 'b', status: 'running', doneBytes: 1 * GiB, totalBytes: 3 * GiB, startedAtMs: 2000 },
        { kind: 'warm', modelId: 'c', status: 'done', doneBytes: 0, totalBytes: 0, startedAtMs: 1000 },
      ],
    }
    const menu = trayMenu(s)
    expect(labels(s).slice(0, 4)).toEqual(['Recent', 'Qwen 7B — warming 33%', 'Gemma 2B — 0%', 'Llama 8B — 100%'])
    expect(menu[1]).toMatchObject({ enabled: false })
  })

  it('disables Evict all when nothing is resident, and says when there are no models', () => {
    const cold = { ...base, pins: [], residency: base.residency.map((r) => ({ ...r, residentBytes: 0 })) }
    expect(trayMenu(cold).find((i) => i.type === 'item' && i.label === 'Evict all')).toMatchObject({ enabled: false })
    expect(labels({ models: [], residency: [], pins: [], jobs: [] })[0]).toBe('No models found')
  })

  it('caps the number of models shown', () => {
    const many: TrayState = {
      models: Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, name: `M${i}`, bytes: GiB })),
      residency: Array.from({ length: 20 }, (_, i) => ({ modelId: `m${i}`, bytes: GiB, residentBytes: GiB, unknownBytes: 0 })),
      pins: [],
      jobs: [],
    }
    expect(trayMenu(many, 5).filter((i) => i.type === 'item' && i.action.type === 'warm')).toHaveLength(5)
  })
})

/** A backend that pushes on demand and counts what the tray asks of it. */
function fakeApi() {
  const listeners = new Map<string, Set<(e: unknown) => void>>()
  const calls = { catalog: 0, modelResidency: 0, jobs: 0, pins: 0, locks: 0, stagingStatus: 0 }
  const api = {
    catalog: async () => (calls.catalog++, { models: base.models, skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }),
    modelResidency: async () => (calls.modelResidency++, base.residency.map((r) => ({ ...r, files: [] }))),
    jobs: async () => (calls.jobs++, []),
    pins: async () => (calls.pins++, [{ modelId: 'c', residentFraction: 0, lastCheckMs: null, lastRewarmMs: null, lastRewarmBytes: 0, rewarms: 0 }]),
    locks: async () => (calls.locks++, []),
    stagingStatus: async () => (calls.stagingStatus++, { stagedBytes: 0 }),
    subscribe: (topic: string, l: (e: unknown) => void) => {
      if (!listeners.has(topic)) listeners.set(topic, new Set())
      listeners.get(topic)!.add(l)
      return () => listeners.get(topic)!.delete(l)
    },
  }
  const push = (topic: string, e: unknown) => {
    for (const l of listeners.get(topic) ?? []) l(e)
  }
  return { api: api as unknown as Parameters<typeof createTrayFeed>[0], calls, push, listeners }
}

describe('the tray from pushed state (issue 8 item 15)', () => {
  it('a residency push updates the menu without measuring anything again', async () => {
    const f = fakeApi()
    let clock = 0
    const views: TrayView[] = []
    const feed = createTrayFeed(f.api, (v) => views.push(v), { renderEveryMs: 0, now: () => clock })
    await feed.ready
    const after = { ...f.calls }
    // 60 pushes, as the backend's 1 Hz poll sends in a minute
    for (let i = 1; i <= 60; i++) {
      clock += 1000
      f.push('residency', { atMs: clock, models: [{ modelId: 'b', bytes: 4 * GiB, residentBytes: (i / 60) * 4 * GiB, unknownBytes: 0, files: [] }] })
      await new Promise((r) => setTimeout(r, 0))
    }
    expect(f.calls.modelResidency).toBe(1) // once, at start
    expect(f.calls.catalog).toBe(after.catalog)
    const last = views.at(-1)!
    const labels = trayMenu(last.state).map((i) => (i.type === 'separator' ? '---' : i.label))
    expect(labels).toContain('Qwen 7B — 100%')
    expect(labels).toContain('📌 Gemma 2B — 0%')
    feed.stop()
  })

  it('coalesces a burst of pushes into one render', async () => {
    const f = fakeApi()
    let renders = 0
    const feed = createTrayFeed(f.api, () => renders++, { renderEveryMs: 200 })
    await feed.ready
    await new Promise((r) => setTimeout(r, 250))
    const before = renders
    for (let i = 0; i < 50; i++) f.push('residency', { atMs: i, models: [{ modelId: 'a', bytes: 4 * GiB, residentBytes: i, unknownBytes: 0, files: [] }] })
    await new Promise((r) => setTimeout(r, 450))
    expect(renders - before).toBe(1)
    feed.stop()
  })

  it('jobs and staging pushes set the icon: working, staged, problem, idle again', async () => {
    const f = fakeApi()
    let clock = 1_000_000
    let view: TrayView | null = null
    const feed = createTrayFeed(f.api, (v) => (view = v), { renderEveryMs: 0, now: () => clock })
    await feed.ready
    const job = { id: 'j1', kind: 'warm', label: 'Qwen 7B', modelId: 'b', paths: [], doneBytes: 0, totalBytes: 1, bytesPerSec: 0, etaMs: null, startedAtMs: clock, endedAtMs: null }
    f.push('jobs', { ...job, status: 'running' })
    await new Promise((r) => setTimeout(r, 5))
    expect(view!.icon).toBe('working')
    expect(view!.tooltip).toBe('Hearth: warm Qwen 7B')
    f.push('jobs', { ...job, status: 'done', endedAtMs: clock })
    f.push('staging', { stagedBytes: GiB })
    await new Promise((r) => setTimeout(r, 5))
    expect(view!.icon).toBe('staged')
    f.push('jobs', { ...job, id: 'j2', status: 'failed', endedAtMs: clock, error: { code: 'IO', message: 'read failed: EIO' } })
    await new Promise((r) => setTimeout(r, 5))
    expect(view!.icon).toBe('problem')
    expect(view!.tooltip).toBe('Hearth: read failed: EIO')
    clock += 1000
    feed.acknowledge() // the window opened: the user has seen it
    await new Promise((r) => setTimeout(r, 5))
    expect(view!.icon).toBe('staged')
    f.push('staging', { stagedBytes: 0 })
    await new Promise((r) => setTimeout(r, 5))
    expect(view!.icon).toBe('idle')
    // a lock or pin job ending asks for the lists again (cheap), never for residency
    expect(f.calls.pins).toBeGreaterThanOrEqual(2)
    expect(f.calls.modelResidency).toBe(1)
    feed.stop()
    expect([...f.listeners.values()].every((s) => s.size === 0)).toBe(true)
  })
})

describe('tray icons', () => {
  it('exist for every state and panel at the sizes Linux trays use, @2x too, and differ by state and panel', () => {
    const dir = new URL('../../assets/icons/tray/', import.meta.url).pathname
    for (const size of [16, 22, 24, 32, 48]) {
      for (const [suffix, px] of [['', size], ['@2x', size * 2]] as const) {
        // At one size, the eight looks (4 states × 2 panels) are eight different pictures.
        const seen = new Map<string, string>()
        for (const state of trayIconStates) {
          for (const panel of ['light', 'dark']) {
            const name = `hearth-${state}-${panel}-${size}${suffix}.png`
            const png = readFileSync(join(dir, name))
            expect(png.subarray(1, 4).toString()).toBe('PNG')
            expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([px, px])
            const hash = createHash('sha256').update(png).digest('hex')
            expect(seen.get(hash), `${name} is a copy of ${seen.get(hash)}`).toBeUndefined()
            seen.set(hash, name)
          }
        }
      }
    }
  })
})
