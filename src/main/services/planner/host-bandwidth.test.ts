// The host bandwidth measurement runs for real (a short run here: the machine is shared, so no
// figure is asserted beyond "it moved bytes"), and the API keeps it in settings.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { measureHostBandwidth } from './host-bandwidth'
import { openSettings } from '../../settings'
import { plannerApi } from '../../api/planner'
import type { Context } from '../../context'
import { writeGguf } from '../../../../test/helpers/gguf-writer'
import { llamaShape } from '../../../../test/helpers/model-shapes'

const dir = mkdtempSync(join(tmpdir(), 'hearth-bw-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('host memory bandwidth', () => {
  it('copies on several threads and counts bytes read and written', async () => {
    const b = await measureHostBandwidth({ ms: 300, bufferBytes: 32 * 2 ** 20, threads: 2 })
    expect(b.gbps).toBeGreaterThan(0)
    expect(b.method).toMatch(/^2 threads copying 32 MiB buffers for 0\.\d s; bytes read \+ written$/)
  })

  it('is measured once through the API, kept in settings, and used by the next plan', async () => {
    const settings = await openSettings({ XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir })
    const api = plannerApi({ settings, gpu: { now: async () => ({ atMs: 0, source: 'none', gpus: [] }) } } as unknown as Context, {
      llama: async () => null,
      measure: () => measureHostBandwidth({ ms: 200, bufferBytes: 16 * 2 ** 20, threads: 1 }),
    })
    expect(await api.hostBandwidth()).toBeNull()
    const m = await api.measureHostBandwidth()
    expect(await api.hostBandwidth()).toEqual(m)
    const reopened = await openSettings({ XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir })
    expect(reopened.get().hostBandwidth).toEqual(m)
    const model = (await writeGguf(join(dir, 'tiny.gguf'), { ...llamaShape({ layers: 4, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 1000, fileType: 'Q8_0' }), sparse: true })).path
    const r = await api.plan({ models: [{ target: model, ngl: 2 }], vramMiB: 4096 })
    expect(r.hostBandwidth).toEqual({ gbps: m.gbps, measured: true })
    expect(r.models[0].speed!.formula).toContain(`÷ ${m.gbps} GB/s (host)`)
  })
})
