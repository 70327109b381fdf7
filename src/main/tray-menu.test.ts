import { describe, expect, it } from 'vitest'
import { trayMenu, type TrayState } from './tray-menu'

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
