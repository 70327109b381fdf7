// `hearth doctor` as users run it (the built CLI in a child process over a temp HOME): the exact
// JSON shape, exit code 1 when a finding fails (a child reading the model with O_DIRECT) and 0
// when none does, a model filter, and the read test whose bandwidth then gives load times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { tempDir } from './support/files'
import { folderHome } from './support/folder-home'
import { writeGguf } from './helpers/gguf-writer'
import { llamaShape } from './helpers/model-shapes'

const root = new URL('..', import.meta.url).pathname
let tmp: ReturnType<typeof tempDir>
let env: NodeJS.ProcessEnv
let model: string
const kids: ChildProcess[] = []

function hearth(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

interface JsonFinding {
  id: string
  status: string
  title: string
  evidence: { label: string; value: string }[]
  fix?: { label: string; command?: string; action?: unknown }
  modelIds?: string[]
}

function checkShape(findings: JsonFinding[]) {
  expect(Array.isArray(findings)).toBe(true)
  expect(findings.length).toBeGreaterThan(5)
  for (const f of findings) {
    expect(typeof f.id).toBe('string')
    expect(['ok', 'warn', 'fail', 'info']).toContain(f.status)
    expect(typeof f.title).toBe('string')
    expect(Array.isArray(f.evidence)).toBe(true)
    for (const e of f.evidence) expect(typeof e.label === 'string' && typeof e.value === 'string').toBe(true)
    if (f.fix !== undefined) expect(typeof f.fix.label).toBe('string')
  }
}

beforeAll(async () => {
  tmp = tempDir('hearth-doctor-cli-')
  const home = folderHome(tmp.dir)
  const models = home.models
  model = join(models, 'cli-doctor Q8_0.gguf')
  await writeGguf(model, llamaShape({ layers: 4, embd: 1024, heads: 16, headsKv: 8, ff: 4096, vocab: 32000, fileType: 'Q8_0', name: 'CLI Doctor' }))
  env = home.env
}, 60_000)
afterAll(() => {
  for (const k of kids) k.kill('SIGKILL')
  tmp.cleanup()
})

describe('hearth doctor', () => {
  it('--json prints {id, status, title, evidence, fix?}[] and exits 0 when no finding fails', (ctx) => {
    const r = hearth(['doctor', '--json'])
    const findings = JSON.parse(r.out) as JsonFinding[]
    checkShape(findings)
    const failing = findings.filter((f) => f.status === 'fail')
    // Machine-wide findings (memory pressure, inotify …) belong to the machine, not this test.
    if (failing.length > 0) ctx.skip(`this machine has failing findings of its own: ${failing.map((f) => f.title).join('; ')}`)
    expect(r.code, r.err).toBe(0)
    expect(findings.find((f) => f.id === 'shares:none')?.title).toBe('Network shares: not used here')
  }, 120_000)

  it('exits 1 while a process reads the model with O_DIRECT, and says so in text and JSON', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/children/model-reader.ts'), 'direct', model, 'llama-server'], { stdio: ['pipe', 'pipe', 'inherit'] })
    kids.push(p)
    const { pid } = JSON.parse(await new Promise<string>((ok) => createInterface({ input: p.stdout! }).once('line', ok))) as { pid: number }
    const j = hearth(['doctor', 'cli-doctor', '--json'])
    expect(j.code, j.err).toBe(1)
    const findings = JSON.parse(j.out) as JsonFinding[]
    checkShape(findings)
    const f = findings.find((x) => x.status === 'fail' && x.id.endsWith(`:${pid}`))!
    expect(f.title).toMatch(/reads cli-doctor Q8_0 with O_DIRECT/)
    expect(f.fix?.command).toMatch(/^hearth stage folder:/)
    // Narrowed to the model: every model-specific finding is about it.
    expect(findings.filter((x) => x.modelIds && !x.modelIds.some((id) => f.modelIds!.includes(id)))).toEqual([])
    const t = hearth(['doctor', 'cli-doctor'])
    expect(t.code).toBe(1)
    expect(t.out).toMatch(new RegExp(`^FAIL  llama-server \\(pid ${pid}\\) reads cli-doctor Q8_0 with O_DIRECT`, 'm'))
    expect(t.out).toMatch(/\$ hearth stage folder:/)
    expect(t.out).toMatch(/\d+ failing, \d+ warnings, \d+ to know, \d+ ok/)
    p.stdin!.end()
    await new Promise((ok) => p.once('close', ok))
  }, 120_000)

  it('--read-test measures the disk as a job; afterwards the model has a load time', () => {
    const before = JSON.parse(hearth(['doctor', 'cli-doctor', '--json']).out) as JsonFinding[]
    const lt = before.find((f) => f.id.startsWith('load-time:'))!
    expect(lt.title).toMatch(/no read bandwidth measured yet/)
    const storage = before.find((f) => f.id.startsWith('storage:disk:') || f.id.startsWith('storage:'))!
    const device = storage.id.slice('storage:'.length)
    const r = hearth(['doctor', '--read-test', device, '--json'])
    expect(r.code, r.err).toBe(0)
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; status: string; note?: string })
    expect(lines.at(-1)).toMatchObject({ kind: 'readtest', status: 'done' })
    expect(lines.at(-1)!.note).toMatch(/^read .* in .* s: .*\/s \((O_DIRECT|uncached ranges, dropped again after)\)$/)
    const after = JSON.parse(hearth(['doctor', 'cli-doctor', '--json']).out) as JsonFinding[]
    expect(after.find((f) => f.id === lt.id)!.title).toMatch(/: cold ≈ .* from .*, now ≈ /)
    const bad = hearth(['doctor', '--read-test', 'disk:no-such-device'])
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/no model file lives on "disk:no-such-device"; the devices with models are: /)
  }, 180_000)
})
