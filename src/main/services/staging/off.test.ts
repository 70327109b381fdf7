// The off preview of locks this process holds, without a helper: each file of a locked split
// model is listed with the bytes locked of it, not the model's total shared out evenly.
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import type { Catalog } from '../../../shared/api'
import { tempDir } from '../../../../test/support/files'
import type { CatalogService } from '../../context'
import { HelperClient } from '../../helper-client'
import { createHub } from '../../hub'
import { openSettings } from '../../settings'
import { createJobRunner } from '../jobs'
import { createWarmService } from '../warm'
import { createStagingService } from '.'

const KiB = 1024
const tmp = tempDir('hearth-off-')
afterAll(() => tmp.cleanup())

const emptyCatalog: Catalog = { models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }

it('previews each locked shard of a split model at its own size', async () => {
  const shards = [661, 300, 853].map((kib, i) => {
    const path = join(tmp.dir, `split-0000${i + 1}-of-00003.gguf`)
    writeFileSync(path, Buffer.alloc(kib * KiB, i + 1))
    return path
  })
  const hub = createHub()
  const jobs = createJobRunner({ hub })
  const settings = await openSettings({ XDG_CONFIG_HOME: join(tmp.dir, 'cfg') })
  const resolve = async (targets: string[]) =>
    targets.flatMap((t) => (t === 'split' ? shards.map((path) => ({ path, bytes: statSync(path).size, modelId: 'split' })) : []))
  const warm = createWarmService({ jobs, settings, resolve, modelResidency: async () => [], modelName: () => 'Split model' })
  const catalog: CatalogService = { current: () => emptyCatalog, scan: async () => emptyCatalog, resolve, start: async () => {}, stop: () => {} }
  // No pkexec on PATH: the helper is unavailable, so the preview is this process's locks alone.
  const helper = new HelperClient({ env: { PATH: '/nonexistent' } })
  const staging = createStagingService({ hub, settings, catalog, jobs, helper, locks: warm })
  try {
    const [job] = await warm.lock(['split'])
    expect((await jobs.wait(job.id)).status).toBe('done')
    const preview = await staging.offPreview()
    expect(preview.locks.map((l) => [l.path, l.bytes, l.holder, l.modelId])).toEqual([
      [shards[0], 661 * KiB, 'hearth', 'split'],
      [shards[1], 300 * KiB, 'hearth', 'split'],
      [shards[2], 853 * KiB, 'hearth', 'split'],
    ])
    expect(preview.nothingToUndo).toBe(false)
  } finally {
    await warm.unlock(['split']).catch(() => {})
  }
})
