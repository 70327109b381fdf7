// The load lab over real services and a real llama.cpp (node-llama-cpp) loading GGUFs written
// here with real zero bytes. What the kernel says decides: /proc/PID/io read_bytes counts the
// page-cache misses the loader itself caused, cachestat the model's residency. This VM reads
// "evicted" files back from the host's cache at 4–5 GB/s, so where a load must be watched while
// it happens, reads are throttled (a blkio cgroup). The machine is shared: no timing goals here.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LabExperiment, LabRun } from '../../../shared/api'
import { throttleReads } from '../../../../test/support/cgroup'
import { buildHelper, openNamespace, repoRoot, type Namespace } from '../../../../test/support/helper-harness'
import { labServices, writeLoadableModel } from '../../../../test/support/lab-setup'
import type { HelperClient } from '../../helper-client'

const root = process.getuid?.() === 0
const v1Memory = existsSync('/sys/fs/cgroup/memory/cgroup.procs')
const dir = join(repoRoot, 'tmp', `lab-test-${process.pid}`) // not /tmp: it may be a tmpfs
let modelPath = ''
let modelBytes = 0

beforeAll(async () => {
  mkdirSync(dir, { recursive: true })
  modelPath = join(dir, 'lab-medium Q8_0.gguf')
  modelBytes = (await writeLoadableModel(modelPath, 'medium')).bytes
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
/** A killed process dies when the kernel next runs it: on a busy machine, a moment later. */
async function dies(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50))
  return !alive(pid)
}
const run = (e: LabExperiment, mode: string) => e.runs.find((r) => r.mode === mode)!

function expectMeasured(r: LabRun): void {
  expect(r.status, `${r.mode}: ${r.error?.message}\n${r.output ?? ''}`).toBe('done')
  expect(r.loader).toBe('builtin')
  expect(r.loadMs).toBeGreaterThan(0)
  expect(r.firstTokenMs).toBeGreaterThanOrEqual(r.loadMs!)
  expect(r.tokensPerSec).toBeGreaterThan(0)
  expect(r.pid).toBeGreaterThan(0)
  expect(alive(r.pid!)).toBe(false)
  expect(r.startedAtMs).toBeLessThanOrEqual(r.loadStartedAtMs!)
  expect(r.loadStartedAtMs).toBeLessThanOrEqual(r.endedAtMs!)
  expect(r.rssAnonBytes).toBeGreaterThan(0)
  expect(r.samples.length).toBeGreaterThan(0)
}

describe('cold and warm runs with the built-in loader', () => {
  it('a cold run reads the whole file from disk; a warm run reads nothing', async () => {
    const { lab, jobs } = await labServices(dir)
    const started = await lab.run({ target: modelPath, matrix: ['cold', 'warm'], tokens: 3 })
    expect(jobs.get(started.jobId)?.kind).toBe('lab')
    const e = await lab.wait(started.id)
    expect(e.status, e.error?.message).toBe('done')
    const cold = run(e, 'cold')
    const warm = run(e, 'warm')
    expectMeasured(cold)
    expectMeasured(warm)
    expect(cold.residentBeforeBytes).toBeLessThan(modelBytes * 0.05)
    expect(cold.readBytes).toBeGreaterThan(modelBytes * 0.9)
    expect(cold.readBytes).toBeLessThan(modelBytes * 1.25)
    expect(cold.residentAfterBytes).toBeGreaterThan(modelBytes * 0.95)
    expect(cold.readFrom).toEqual({ path: modelPath, fsType: expect.not.stringMatching(/^tmpfs$/) })
    expect(warm.residentBeforeBytes).toBeGreaterThan(modelBytes * 0.95)
    expect(warm.readBytes).toBeLessThan(modelBytes * 0.05)
  }, 300_000)

  it.skipIf(!root)('the residency of a cold model rises while the loader reads it (reads throttled to 48 MB/s)', async () => {
    const { lab } = await labServices(dir)
    const restore = throttleReads(modelPath, 48e6)
    let e: LabExperiment
    try {
      e = await lab.wait((await lab.run({ target: modelPath, matrix: ['cold'], tokens: 2 })).id)
    } finally {
      restore()
    }
    const cold = run(e, 'cold')
    expectMeasured(cold)
    const during = cold.samples.filter((s) => s.residentBytes! > modelBytes * 0.05 && s.residentBytes! < modelBytes * 0.95)
    expect(during.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < during.length; i++) {
      expect(during[i].residentBytes!).toBeGreaterThanOrEqual(during[i - 1].residentBytes!)
      expect(during[i].readBytes!).toBeGreaterThanOrEqual(during[i - 1].readBytes!)
    }
    expect(during.at(-1)!.residentBytes!).toBeGreaterThan(during[0].residentBytes!)
    expect(cold.readBytes).toBeGreaterThan(modelBytes * 0.9)
  }, 300_000)
})

describe.skipIf(!root)('undo everything covers the lab (a real helper)', () => {
  let ns: Namespace
  beforeAll(async () => {
    buildHelper()
    ns = await openNamespace()
  })
  afterAll(() => ns?.dispose())

  it("off's preview lists the lab's locked dummy memory, and off releases it and says how much", async () => {
    const helper = ns.helper()
    const { lab, staging } = await labServices(dir, helper)
    expect((await staging.offPreview()).pressureHeldBytes).toBe(0)
    const available = Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024
    const held = (await lab.pressure(available - 256 * 2 ** 20)).pressure
    expect(held.heldBytes).toBeGreaterThan(64 * 2 ** 20)
    const preview = await staging.offPreview()
    expect(preview.pressureHeldBytes).toBe(held.heldBytes)
    expect(preview.nothingToUndo).toBe(false)
    const r = await staging.off()
    expect(r.failed).toBe(0)
    expect(r.pressureReleasedBytes).toBe(held.heldBytes)
    expect((await lab.memoryState()).pressure.heldBytes).toBe(0)
    expect((await staging.offPreview()).nothingToUndo).toBe(true)
    await helper.close()
  }, 60_000)
})

describe.skipIf(!root || !v1Memory)('under a memory limit (cgroup v1 through the helper)', () => {
  let ns: Namespace
  let helper: HelperClient
  beforeAll(async () => {
    buildHelper()
    ns = await openNamespace()
    helper = ns.helper()
  })
  afterAll(() => ns?.dispose())

  it('leaving the model a quarter of its size: pages are read again (refaults), residency stays low, the cgroup is removed', async () => {
    const { lab } = await labServices(dir, helper)
    const free = await lab.wait((await lab.run({ target: modelPath, matrix: ['cold'], tokens: 2 })).id)
    const leave = Math.round(modelBytes / 4)
    const limited = await lab.wait((await lab.run({ target: modelPath, matrix: ['cold'], tokens: 2, leaveBytes: leave, limitBy: 'cgroup' })).id)
    const a = run(free, 'cold')
    const b = run(limited, 'cold')
    expectMeasured(a)
    expectMeasured(b)
    expect(limited.memory).toMatchObject({ method: 'cgroup', leaveBytes: leave, how: 'cgroup v1 through the helper' })
    expect(b.readBytes).toBeGreaterThan(modelBytes * 1.5) // the same pages, read again
    expect(b.refaults).toBeGreaterThan(0)
    expect(b.majorFaults).toBeGreaterThan(a.majorFaults!)
    expect(b.residentAfterBytes).toBeLessThan(modelBytes / 2)
    expect(a.residentAfterBytes).toBeGreaterThan(modelBytes * 0.95)
    // The limit followed the loader's own memory: leave + its anonymous pages + a margin.
    expect(b.memoryLimitBytes).toBeGreaterThan(leave)
    expect(b.memoryLimitBytes).toBeLessThan(leave + b.rssAnonBytes! + 64 * 2 ** 20)
    const mine = readdirSync('/sys/fs/cgroup/memory/hearth').filter((n) => n.startsWith(`h${helper.pid}-`))
    expect(mine).toEqual([])
  }, 600_000)
})

describe('a loader that crashes or hangs', () => {
  it('a crash (a truncated model) is reported with the loader\'s output; nothing is left running', async () => {
    const broken = join(dir, 'broken.gguf')
    await writeLoadableModel(broken, 'small')
    truncateSync(broken, 300_000) // the header stays, the weights are cut off
    const { lab } = await labServices(dir)
    const e = await lab.wait((await lab.run({ target: broken, matrix: ['warm'], tokens: 2 })).id)
    const r = run(e, 'warm')
    expect(e.status).toBe('failed')
    expect(r.status).toBe('failed')
    expect(r.error?.message).toMatch(/built-in loader failed: Failed to load model: .*data is not within the file bounds/)
    expect(r.output).toMatch(/error: llama_model_load: error loading model/)
    expect(await dies(r.pid!)).toBe(true)
  }, 120_000)

  it('a hang is killed after the timeout, with everything it started, and reported with its output', async () => {
    const model = join(dir, 'hang.gguf')
    await writeLoadableModel(model, 'small')
    const { lab, settings } = await labServices(dir)
    await settings.update({ lab: { llamaBinary: join(repoRoot, 'test/children/hanging-llama-cli') } })
    const e = await lab.wait((await lab.run({ target: model, loader: 'llama-cli', matrix: ['warm'], tokens: 2, timeoutMs: 2000 })).id)
    const r = run(e, 'warm')
    expect(r.status).toBe('failed')
    expect(r.error).toEqual({ code: 'TIMEOUT', message: expect.stringMatching(/did not finish within 2 s; it was killed/) })
    expect(r.output).toContain('load_tensors: loading model tensors')
    const worker = Number(readFileSync(`${model}.worker-pid`, 'utf8'))
    expect(await dies(r.pid!)).toBe(true)
    expect(await dies(worker)).toBe(true)
  }, 120_000)
})

describe('llama-server as the loader', () => {
  it('loaded when /health answers 200, tokens from the stream, tokens/s from its timings', async () => {
    const model = join(dir, 'server.gguf')
    await writeLoadableModel(model, 'small')
    const { lab, settings } = await labServices(dir)
    await settings.update({ lab: { llamaBinary: join(repoRoot, 'test/children/fake-llama-server') } })
    const status = await lab.status()
    expect(status.loaders.find((l) => l.kind === 'llama-cli')).toMatchObject({ available: true, detail: expect.stringContaining('fake-llama-server') })
    const e = await lab.wait((await lab.run({ target: model, loader: 'llama-cli', matrix: ['warm'], tokens: 5 })).id)
    const r = run(e, 'warm')
    expect(r.status, `${r.error?.message}\n${r.output}`).toBe('done')
    expect(e.loader).toBe('llama-cli')
    expect(r.loadMs).toBeGreaterThanOrEqual(300) // the fake answers 503 for its first 300 ms
    expect(r.firstTokenMs).toBeGreaterThan(r.loadMs!)
    expect(r.tokens).toBe(5)
    expect(r.tokensPerSec).toBe(42.5)
    expect(alive(r.pid!)).toBe(false)
  }, 120_000)
})

describe.skipIf(!root)('a staged run (root, in a private mount namespace)', () => {
  it('reads the model from the RAM disk: the loader maps the tmpfs copy and reads nothing from disk; the stage is undone after', async () => {
    buildHelper()
    const scratch = join(dir, 'staged-scratch')
    mkdirSync(scratch, { recursive: true })
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, '--import', 'tsx', join(repoRoot, 'test/children/lab-staged-child.ts'), scratch, modelPath], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 280_000,
    })
    expect(r.status, r.stderr).toBe(0)
    const { experiment: e, mountsAfter } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { experiment: LabExperiment; mountsAfter: string[] }
    const cold = run(e, 'cold')
    const staged = run(e, 'staged')
    expectMeasured(cold)
    expectMeasured(staged)
    expect(staged.note).toBe('staged in the RAM disk')
    expect(staged.readFrom).toEqual({ path: modelPath, fsType: 'tmpfs' })
    expect(staged.readBytes).toBeLessThan(modelBytes * 0.05)
    expect(staged.rssShmemBytes).toBeGreaterThan(modelBytes * 0.5) // the mapped pages are the RAM disk's
    expect(cold.readFrom?.fsType).not.toBe('tmpfs')
    expect(cold.readBytes).toBeGreaterThan(modelBytes * 0.9)
    expect(mountsAfter).toEqual([])
  }, 300_000)
})
