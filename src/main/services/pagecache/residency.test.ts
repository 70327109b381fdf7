import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog, Model, ResidencyUpdate } from '../../../shared/api'
import { createHub } from '../../hub'
import { pageSizeBytes } from '../../sys/cachestat'
import { createResidencyService, goneReason, type ResidencyProbe } from './index'
import { besideFincore, evict, evictRange, fincoreBytes, readRange, writeColdFile } from '../../../../test/support/files'

const MiB = 1 << 20
const page = pageSizeBytes()
const here = dirname(fileURLToPath(import.meta.url))
let dir = ''
const path = (name: string) => join(dir, name)

function catalogOf(models: Model[]) {
  const cat: Catalog = { models, skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }
  return { current: () => cat }
}
const model = (id: string, files: string[], bytesEach: number): Model => ({
  id,
  name: id,
  source: 'folder',
  format: 'gguf',
  root: dir,
  bytes: files.length * bytesEach,
  files: files.map((f) => ({ path: f, bytes: bytesEach, role: 'weights' })),
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-residency-'))
  writeColdFile(path('a.gguf'), 128 * MiB)
  writeColdFile(path('b.gguf'), 64 * MiB + 123) // not a whole number of pages
})
afterAll(async () => {
  for (const f of ['a.gguf', 'b.gguf']) evict(path(f))
  await rm(dir, { recursive: true, force: true })
})

describe.each<ResidencyProbe>(['cachestat', 'mincore'])('residency by %s', (method) => {
  const service = () => createResidencyService({ hub: createHub(), catalog: catalogOf([]), method })

  it('equals fincore on the same files after partial reads', async () => {
    const a = path('a.gguf')
    const b = path('b.gguf')
    const files = [
      { path: a, bytes: 128 * MiB, modelId: 'm' },
      { path: b, bytes: 64 * MiB + 123 },
    ]
    const prepare = () => {
      evict(a)
      evict(b)
      readRange(a, 0, 16 * MiB)
      readRange(a, 100 * MiB, 8 * MiB)
      readRange(b, 60 * MiB, 4 * MiB + 123)
    }
    const { ours: ra, fincore: fa } = await besideFincore(a, async () => (await service().ofFiles(files))[0], prepare)
    expect(ra).toMatchObject({ path: a, bytes: 128 * MiB, modelId: 'm', method })
    expect(ra.residentBytes).toBe(fa)
    // This VM drops a few MiB of a file moments after a plain read (docs/FACTS.md): slack, not 24 MiB exactly.
    expect(ra.residentBytes).toBeGreaterThanOrEqual(16 * MiB)
    const { ours: rb, fincore: fb } = await besideFincore(b, async () => (await service().ofFiles(files))[1], prepare)
    // fincore counts the partial last page whole; Hearth never reports more than the file.
    expect(rb.residentBytes).toBe(Math.min(fb, 64 * MiB + 123))
    expect(rb.residentBytes).toBeGreaterThan(2 * MiB)
  })

  it('draws a heat strip: first half read → first buckets hot, last ones cold', async () => {
    const a = path('a.gguf')
    const prepare = () => {
      evict(a)
      readRange(a, 0, 64 * MiB)
    }
    const { ours: strip, fincore } = await besideFincore(a, () => service().heatStrip(a, 16), prepare)
    expect(strip.bytes).toBe(128 * MiB)
    expect(strip.buckets).toHaveLength(16)
    expect(strip.residentBytes).toBe(fincore)
    for (const f of strip.buckets.slice(0, 8)) expect(f).toBe(1)
    for (const f of strip.buckets.slice(8)) expect(f).toBe(0) // readRange turns readahead off
  })

  it('gives each bucket its page\'s state when buckets outnumber pages', async () => {
    const tiny = path('tiny.gguf')
    writeColdFile(tiny, 2 * page + 100) // three pages, the last one partial
    const prepare = () => {
      readRange(tiny, 0, 2 * page + 100)
      evictRange(tiny, page, page) // drop only the middle page
    }
    const { ours: strip, fincore } = await besideFincore(tiny, () => service().heatStrip(tiny, 8), prepare)
    expect(strip.buckets).toEqual([1, 1, 1, 0, 0, 0, 1, 1])
    expect(strip.residentBytes).toBe(fincore) // two whole pages, as fincore counts them
  })

  it('reports a vanished file as unknown, keeping the size the catalog knew', async () => {
    const gone = path('gone.gguf')
    copyFileSync(path('b.gguf'), gone)
    rmSync(gone)
    const [r] = await service().ofFiles([{ path: gone, bytes: 42, modelId: 'x' }])
    expect(r).toMatchObject({ path: gone, bytes: 42, residentBytes: null, unknownReason: goneReason, modelId: 'x' })
    await expect(service().heatStrip(gone, 8)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('residency per model', () => {
  it('sums a model over its files and counts unknown bytes apart', async () => {
    const a = path('a.gguf')
    const m = model('two-files', [a, path('missing.gguf')], 128 * MiB)
    const s = createResidencyService({ hub: createHub(), catalog: catalogOf([m]) })
    const prepare = () => {
      evict(a)
      readRange(a, 0, 32 * MiB)
    }
    const { ours: [r], fincore } = await besideFincore(a, () => s.ofModels(), prepare)
    expect(s.method).toBe('cachestat') // this kernel (6.5+) has it
    expect(r.modelId).toBe('two-files')
    expect(r.residentBytes).toBe(fincore)
    expect(r.unknownBytes).toBe(128 * MiB)
    expect(r.unknownReason).toBe(goneReason)
    expect(r.files.map((f) => f.modelId)).toEqual(['two-files', 'two-files'])
  })
})

describe('the 1 Hz poller', () => {
  it('publishes only while someone listens, and then only the models that changed', async () => {
    const a = path('a.gguf')
    const b = path('b.gguf')
    evict(a)
    evict(b)
    const hub = createHub()
    const inner = catalogOf([model('A', [a], 128 * MiB), model('B', [b], 64 * MiB + 123)])
    let catalogReads = 0
    const catalog = { current: () => (catalogReads++, inner.current()) }
    const s = createResidencyService({ hub, catalog, intervalMs: 20 })
    const updates: ResidencyUpdate[] = []
    const next = () =>
      new Promise<ResidencyUpdate>((resolve) => {
        const off = hub.subscribe('residency', (u) => {
          off()
          resolve(u)
        })
      })
    s.start()
    try {
      await new Promise((r) => setTimeout(r, 100))
      expect(catalogReads).toBe(0) // nobody listens yet: five periods passed without any work
      const off = hub.subscribe('residency', (u) => updates.push(u))
      const first = await next()
      expect(first.models.map((m) => m.modelId).sort()).toEqual(['A', 'B'])
      readRange(a, 0, 8 * MiB)
      const second = await next()
      expect(second.models.map((m) => m.modelId)).toEqual(['A'])
      expect(second.models[0].residentBytes).toBeGreaterThanOrEqual(8 * MiB)
      // Quiet pages, quiet poller: several periods pass with nothing pushed (checked only when
      // fincore shows that no other process moved these pages meanwhile).
      const before = updates.length
      const cachedBefore = fincoreBytes(a) + fincoreBytes(b)
      await new Promise((r) => setTimeout(r, 150))
      if (fincoreBytes(a) + fincoreBytes(b) === cachedBefore) expect(updates.length).toBe(before)
      // Whatever was pushed, each model in a push differs from its previous push.
      const last = new Map<string, number>()
      for (const u of updates) {
        for (const m of u.models) {
          expect(last.get(m.modelId)).not.toBe(m.residentBytes)
          last.set(m.modelId, m.residentBytes)
        }
      }
      off()
    } finally {
      s.stop()
    }
  })
})

describe('the permission trap', () => {
  const uid = 12345
  it('says "unknown" with the reason where mincore would claim 100%', async () => {
    if (process.geteuid?.() !== 0) throw new Error('this test needs root to create another user’s file')
    // A dir the probing user can enter, holding a cold file owned by "nobody", mode 0644.
    const trapDir = await mkdtemp(join(tmpdir(), 'hearth-trap-'))
    chmodSync(trapDir, 0o755)
    const file = join(trapDir, 'system-blob')
    try {
      writeColdFile(file, 16 * MiB)
      chownSync(file, 65534, 65534)
      chmodSync(file, 0o644)
      evict(file)
      const out = execFileSync(
        'setpriv',
        [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '--import', 'tsx', join(here, '../../../../test/children/probe-as-other-user.ts'), file],
        { encoding: 'utf8', cwd: join(here, '../../../..'), env: { ...process.env, HOME: trapDir } },
      )
      const r = JSON.parse(out.trim().split('\n').pop()!)
      expect(r.uid).toBe(uid)
      // The kernel's two answers: cachestat refuses, mincore lies (the file is cold).
      expect(r.cachestatFailure).toBe('permission')
      expect(r.rawMincoreBytes).toBe(16 * MiB)
      expect(fincoreBytes(file)).toBe(0) // the truth, as root sees it
      for (const via of [r.viaCachestat, r.viaMincore]) {
        expect(via.residentBytes).toBeNull()
        expect(via.bytes).toBe(16 * MiB)
        expect(via.unknownReason).toMatch(/neither own nor may write/)
      }
      expect(r.heat).toBe('PERMISSION')
    } finally {
      await rm(trapDir, { recursive: true, force: true })
    }
  })
})

