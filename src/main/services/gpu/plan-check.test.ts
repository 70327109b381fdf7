// Planned against measured, faked only at the two boundaries: a /proc tree with the command lines
// of the two llama-servers that ran side by side on the H100 (test/fixtures/vram-h100,
// overhead-pair.tsv), and nvidia-smi's output recorded there, printed by a stub nvidia-smi.
// Everything between — telemetry, the command-line reader, the planner, settings — is the real one.
// No GPU is lent to this machine, so the check against a live llama-server cannot run here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { restoreShapes } from '../../../../test/planner/h100-fixtures'
import { createHub } from '../../hub'
import { openSettings, type SettingsStore } from '../../settings'
import { plannerApi } from '../../api/planner'
import { planCommand } from '../../cli/plan'
import type { Context } from '../../context'
import type { CliIo } from '../../cli/command'
import { createGpuService } from './index'
import { readNvidiaSmi } from './nvidia-smi'
import { parseServerCommandLine } from '../../../shared/planner/server-args'

const smi = resolve(__dirname, '../../../../test/fixtures/nvidia-smi/stub/nvidia-smi')
let dir: string
let proc: string
let settings: SettingsStore
let api: ReturnType<typeof plannerApi>
let paths: Record<string, string>

/** One fake /proc/PID: cmdline and environ NUL-separated, stat with its start time, cwd. */
function fakeProcess(pid: number, argv: string[], opts: { env?: string[]; cwd?: string; start?: number } = {}) {
  const d = join(proc, String(pid))
  mkdirSync(d, { recursive: true })
  writeFileSync(join(d, 'cmdline'), argv.join('\0') + '\0')
  writeFileSync(join(d, 'environ'), (opts.env ?? ['PATH=/usr/bin']).join('\0') + '\0')
  const fields = Array.from({ length: 50 }, () => '0')
  fields[18] = String(opts.start ?? 123456) // starttime: field 22 of stat; these start at field 4
  writeFileSync(join(d, 'stat'), `${pid} (${argv[0].split('/').pop()?.slice(0, 15)}) S ${fields.join(' ')}\n`)
  if (opts.cwd) symlinkSync(opts.cwd, join(d, 'cwd'))
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-check-'))
  proc = join(dir, 'proc')
  const shapes = await restoreShapes(join(dir))
  paths = { '7b': shapes.get('qwen2.5-7b-q4km')!.path, '3b': shapes.get('qwen2.5-3b-q4km')!.path }
  // How the H100 runs were started (test/fixtures/vram-h100/README.md); the 3B with a relative -m
  // and its context from the environment, as a systemd unit might start it.
  fakeProcess(4917, ['/opt/llama.cpp/build/bin/llama-server', '-m', paths['7b'], '-ngl', '999', '-c', '8192', '-np', '1', '-ctk', 'f16', '-ctv', 'f16', '-fa', 'on', '-ub', '512', '-b', '2048', '-fit', 'off', '-no-kvu', '-cram', '0', '--port', '8081'])
  fakeProcess(4881, ['/opt/llama.cpp/build/bin/llama-server', '-m', 'qwen2.5-3b-q4km.gguf', '-ngl', '999', '-np', '1', '-fa', 'on', '-ub', '512', '-fit', 'off', '-cram', '0', '--port', '8080'], { env: ['LLAMA_ARG_CTX_SIZE=8192', 'HOME=/root'], cwd: dir })
  fakeProcess(777, ['sleep', '30'])
  settings = await openSettings({ XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir })
  const gpu = createGpuService({ hub: createHub(), sources: { nvml: () => null, nvidiaSmi: () => readNvidiaSmi(smi), drm: async () => [], proc } })
  const ctx = { gpu, settings } as unknown as Context
  api = plannerApi(ctx, { procRoot: proc, llama: async () => null })
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('hearth plan --check: a running server against the plan of its own command line', () => {
  it('the 7B: planned within a few MiB of what nvidia-smi recorded it using', async () => {
    const c = await api.planCheck({ pid: 4917 })
    expect(c.error).toBeUndefined()
    expect(c).toMatchObject({ kind: 'llama-server', modelPath: paths['7b'], arch: 'qwen2', card: 'NVIDIA H100 80GB HBM3', gpuIndex: 0, usedMiB: 5366 })
    expect(c.plan!.ngl).toBe(29)
    expect(c.plan!.ctx).toBe(8192)
    expect(Math.abs(c.diffMiB!)).toBeLessThanOrEqual(5)
    expect(c.diffMiB).toBeCloseTo(5366 - c.plannedMiB!, 2)
  })

  it('the 3B: -m relative to its working directory, -c from LLAMA_ARG_CTX_SIZE in its environment', async () => {
    const c = await api.planCheck({ pid: 4881 })
    expect(c).toMatchObject({ modelPath: paths['3b'], usedMiB: 2812 })
    expect(c.plan!.ctx).toBe(8192)
    expect(Math.abs(c.diffMiB!)).toBeLessThanOrEqual(5)
  })

  it('keeps the differences per architecture and card, one entry per process, and shows them in plans', async () => {
    const all = await api.planChecks()
    expect(all.map((c) => c.pid).sort()).toEqual([4881, 4917])
    const kept = settings.get().planChecks!['qwen2|NVIDIA H100 80GB HBM3']
    expect(kept.map((e) => e.process).sort()).toEqual(['4881:123456', '4917:123456'])
    const mean = Math.round((all[0].diffMiB! + all[1].diffMiB!) / 2)
    const r = await api.plan({ models: [{ target: paths['3b'], ngl: 999 }], gpu: 'nvidia:0' })
    expect(r.models[0].deviation).toMatchObject({ arch: 'qwen2', card: 'NVIDIA H100 80GB HBM3', meanMiB: mean, samples: 2 })
    // The settings file on disk has them too (another process reads them).
    const again = await openSettings({ XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir })
    expect(Object.keys(again.get().planChecks ?? {})).toEqual(['qwen2|NVIDIA H100 80GB HBM3'])
  })

  it('prints planned, used and the difference on the command line', async () => {
    const out: string[] = []
    const io = { out: (t: string) => out.push(t), backend: async () => api } as unknown as CliIo
    expect(await planCommand.run(['--check', '4917'], io)).toBe(0)
    expect(out[0]).toMatch(/^pid 4917 llama-server: .*qwen2\.5-7b-q4km\.gguf on GPU 0 NVIDIA H100 80GB HBM3/)
    expect(out[0]).toMatch(/planned 5\.\d\d GiB = weights 4\.07 GiB \+ KV 448 MiB/)
    expect(out[0]).toMatch(/used {4}5\.24 GiB/)
    expect(out[0]).toMatch(/difference [+-]\d MiB \([+-]0\.\d\d%\) \(used − planned\)/)
    expect(await planCommand.run(['--check', '4917', '--json'], io)).toBe(0)
    expect(JSON.parse(out[1])).toMatchObject({ pid: 4917, usedMiB: 5366 })
  })

  it('says why when it cannot check: no such process, not a server', async () => {
    expect((await api.planCheck({ pid: 999999 })).error).toMatch(/no process 999999/)
    expect((await api.planCheck({ pid: 777 })).error).toMatch(/sleep is neither llama-server nor an Ollama runner/)
    const notServer = await api.planCheck({ pid: 777 })
    expect(notServer.notes).toEqual([]) // nothing was planned: no notes on how it would have been
    const out: string[] = []
    const err: string[] = []
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), backend: async () => api } as unknown as CliIo
    expect(await planCommand.run(['--check', '777'], io)).toBe(1)
    expect(out).toEqual([]) // a failure goes to stderr
    expect(err[0]).toMatch(/cannot check: /)
    expect(err[0]).not.toMatch(/note:/)
  })
})

describe('command lines of running servers', () => {
  it("reads Ollama's runner flags, an old bare -fa, and says what it assumed", () => {
    const o = parseServerCommandLine(['/usr/bin/ollama', 'runner', '--model', '/var/lib/ollama/blobs/sha256-abc', '--ctx-size', '8192', '--batch-size', '512', '--n-gpu-layers', '20', '--threads', '8', '--flash-attn', '--parallel', '2', '--port', '41234'])
    expect(o).toMatchObject({ kind: 'ollama-runner', model: '/var/lib/ollama/blobs/sha256-abc', args: { ctx: 8192, ubatch: 512, ngl: 20, flashAttn: true, parallel: 2 } })
    const old = parseServerCommandLine(['llama-server', '-m', 'm.gguf', '-fa', '-c', '4096', '--jinja', '--host', '0.0.0.0', '-ctk', 'q8_0'])
    expect(old.args).toMatchObject({ flashAttn: true, ctx: 4096, cacheTypeK: 'q8_0', ngl: 9999 })
    expect(old.notes.join(' ')).toMatch(/no -ngl on the command line.*every layer/)
    expect(old.notes.join(' ')).toMatch(/fits -ngl and -c to free memory unless run with -fit off/)
  })
})
