// Locking beyond RLIMIT_MEMLOCK lands in the privileged helper, and `off` (Undo everything)
// releases every lock, in Hearth's own process and in the helper, with or without a helper. A
// child process is an ordinary user (uid 12345) with a 64 KiB memory-lock limit and a root helper
// acting for it, or none (see helper-lock-child.ts); the test, as root, reads both processes'
// VmLck from /proc, the kernel's own count of what each has mlock'd.
import type { ChildProcess } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { buildHelper, ggufBytes, jsonLineChild, openNamespace, repoRoot, sparseGguf, type Namespace } from '../../../../test/support/helper-harness'
import type { Catalog, LockInfo, OffPreview, OffResult } from '../../../shared/api'
import { evict, tempDir } from '../../../../test/support/files'
import { createHub } from '../../hub'
import { createJobRunner } from '../jobs'
import { createStagingService } from '../staging'
import { createWarmService } from '.'
import type { CatalogService } from '../../context'
import type { SettingsStore } from '../../settings'

const KiB = 1024
const MiB = 1 << 20
const uid = 12345
const tmp = tempDir('hearth-helper-lock-')
let child: ChildProcess | null = null
let ns: Namespace | null = null

beforeAll(() => buildHelper())
afterEach(async () => {
  child?.kill('SIGKILL')
  child = null
  await ns?.dispose()
  ns = null
})
afterAll(() => tmp.cleanup())

const vmLckBytes = (pid: number) => Number(/^VmLck:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * KiB

type Reply = { code?: string; message?: string; note?: string; locks?: LockInfo[]; preview?: OffPreview; off?: OffResult; [k: string]: unknown }

/** A model file the helper accepts (it locks model files only), written back and evicted. */
function modelFile(name: string, bytes: number): string {
  const path = join(tmp.dir, name)
  writeFileSync(path, ggufBytes(bytes), { mode: 0o644, flush: true })
  evict(path)
  return path
}

/** The lock child as uid 12345 with a 64 KiB RLIMIT_MEMLOCK; mode: with a root helper, or none. */
function startChild(mode: 'helper' | 'nohelper') {
  chmodSync(tmp.dir, 0o755) // uid 12345 must reach the files
  const c = jsonLineChild<Reply>('prlimit', ['--memlock=65536:65536', process.execPath, '--import', 'tsx', join(__dirname, '../../../../test/children/helper-lock-child.ts'), String(uid), join(tmp.dir, `scratch-${mode}`), mode], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: tmp.dir },
  })
  child = c.child
  return c
}

it.skipIf(process.getuid?.() !== 0)('an ordinary user with a small RLIMIT_MEMLOCK locks beyond it through the helper; unlock and off release it (runs as root only)', async () => {
  const small = modelFile('small.gguf', 16 * KiB)
  const big = modelFile('big.gguf', 4 * MiB)
  // Sparse and bigger than lockMaxFraction (50%) of RAM: must be refused before any lock.
  const memTotalBytes = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * KiB
  const huge = sparseGguf(join(tmp.dir, 'huge.gguf'), Math.ceil(memTotalBytes * 0.6))

  const c = startChild('helper')
  const { next, ask } = c
  const childPid = c.child.pid!

  const ready = await next()
  expect(ready).toMatchObject({ ready: true, uid, helperUid: uid, memlock: { limitBytes: 65536, viaCapability: false } })
  const helperPid = ready.helperPid as number
  expect(vmLckBytes(helperPid)).toBe(0)

  // Within the limit: locked here, in the child itself.
  const s = await ask(`lock ${small}`)
  expect(s).toMatchObject({ code: 'OK', locks: [{ paths: [small], holder: 'hearth', lockedBytes: 16 * KiB }] })
  expect(vmLckBytes(childPid)).toBe(16 * KiB)
  expect(vmLckBytes(helperPid)).toBe(0)

  // 4 MiB is 64 times the limit: the helper holds it.
  const b = await ask(`lock ${big}`)
  expect(b.code).toBe('OK')
  expect(b.note).toMatch(/through the privileged helper .*beyond your memory-lock limit/)
  expect(b.locks!.find((l) => l.paths[0] === big)).toMatchObject({ holder: 'helper', lockedBytes: 4 * MiB })
  expect(vmLckBytes(helperPid)).toBe(4 * MiB)
  expect(vmLckBytes(childPid)).toBe(16 * KiB)

  // The lockMaxFraction cap stands in front of the helper too.
  const h = await ask(`lock ${huge}`)
  expect(h.code).toBe('TOO_LARGE')
  expect(h.message).toMatch(/at most 50% of RAM/)
  expect(vmLckBytes(helperPid)).toBe(4 * MiB)

  const u = await ask(`unlock ${big}`)
  expect(u.locks!.map((l) => l.holder)).toEqual(['hearth'])
  expect(vmLckBytes(helperPid)).toBe(0)
  expect(vmLckBytes(childPid)).toBe(16 * KiB)

  // `off` (Undo everything) releases every lock: the helper's and the one in this process;
  // its preview lists both, saying who holds which.
  expect((await ask(`lock ${big}`)).code).toBe('OK')
  expect(vmLckBytes(helperPid)).toBe(4 * MiB)
  const preview = (await ask('preview')).preview!
  expect(preview.locks).toEqual([
    { path: small, bytes: 16 * KiB, holder: 'hearth' },
    { path: big, bytes: 4 * MiB, holder: 'helper' },
  ])
  expect(preview.nothingToUndo).toBe(false)
  const off = await ask('off')
  expect(off.off).toMatchObject({ unlocked: 2, failed: 0, problems: [] })
  expect(off.locks).toEqual([])
  expect(vmLckBytes(helperPid)).toBe(0)
  expect(vmLckBytes(childPid)).toBe(0)
  expect((await ask('preview')).preview).toMatchObject({ locks: [], nothingToUndo: true })

  child!.stdin!.write('exit\n')
  await new Promise((ok) => child!.once('close', ok))
  child = null
}, 60_000)

it.skipIf(process.getuid?.() !== 0)('with no helper at all, off releases the locks in this process instead of failing (runs as root only)', async () => {
  const small = modelFile('alone.gguf', 16 * KiB)
  const c = startChild('nohelper')
  expect(await c.next()).toMatchObject({ ready: true, uid, helperAvailable: false })
  expect(await c.ask(`lock ${small}`)).toMatchObject({ code: 'OK', locks: [{ paths: [small], holder: 'hearth', lockedBytes: 16 * KiB }] })
  expect(vmLckBytes(c.child.pid!)).toBe(16 * KiB)
  expect((await c.ask('preview')).preview).toMatchObject({ locks: [{ path: small, holder: 'hearth' }], problems: [], nothingToUndo: false })
  const off = await c.ask('off')
  expect(off).toMatchObject({ code: 'OK', off: { unlocked: 1, failed: 0, problems: [] }, locks: [] })
  expect(vmLckBytes(c.child.pid!)).toBe(0)
}, 60_000)

it.skipIf(process.getuid?.() !== 0)('as root every lock is held in this process; off releases them and its preview lists them (runs as root only)', async () => {
  ns = await openNamespace()
  const hub = createHub()
  const jobs = createJobRunner({ hub })
  const settings = { get: () => ({ folders: [], pins: [], keepWarmThreshold: 0.95, lockMaxFraction: 0.5, stagingReserveBytes: 0 }) } as unknown as SettingsStore
  const resolve = async (t: string[]) => t.map((p) => ({ path: p, bytes: readFileSync(p).length }))
  const helper = ns.helper()
  const warm = createWarmService({ jobs, settings, helper, resolve, modelResidency: async () => [], modelName: () => undefined })
  const empty: Catalog = { models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }
  const catalog: CatalogService = { current: () => empty, scan: async () => empty, resolve, start: async () => {}, stop: () => {} }
  const staging = createStagingService({ hub, settings, catalog, jobs, helper, locks: warm })
  const a = modelFile('root-a.gguf', 3 * MiB)
  const before = vmLckBytes(process.pid)
  const [job] = await warm.lock([a])
  expect((await jobs.wait(job.id)).status).toBe('done')
  expect(warm.locks().map((l) => l.holder)).toEqual(['hearth'])
  expect(vmLckBytes(process.pid) - before).toBe(3 * MiB)
  expect((await staging.offPreview()).locks).toEqual([{ path: a, bytes: 3 * MiB, holder: 'hearth' }])
  expect(await staging.off()).toMatchObject({ unlocked: 1, failed: 0, problems: [] })
  expect(warm.locks()).toEqual([])
  expect(vmLckBytes(process.pid)).toBe(before)
  await warm.stop()
})
