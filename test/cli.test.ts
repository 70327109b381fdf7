// The CLI as users run it: a child process over a temp HOME with real layouts of every source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeModelHome, type ModelHome } from './fixtures/model-home'
import { FADV, fadvise } from '../src/main/sys/fadvise'

const root = new URL('..', import.meta.url).pathname
let dir: string
let mh: ModelHome

function hearth(args: string[]) {
  // The built CLI, as users run it (bin/hearth.js builds it first when it is missing).
  const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, ...mh.env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'))
  mh = await makeModelHome(dir)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('hearth CLI', () => {
  it('models --json lists every model with the documented shape', () => {
    const r = hearth(['models', '--json'])
    expect(r.code, r.err).toBe(0)
    const models = JSON.parse(r.out) as Array<Record<string, unknown>>
    expect(models).toHaveLength(mh.models.length)
    for (const m of models) {
      expect(Object.keys(m).sort()).toEqual(['bytes', 'files', 'format', 'id', 'name', 'source', ...(m.gguf ? ['gguf'] : [])].sort())
      if (m.gguf) expect(Object.keys(m.gguf as object).sort()).toEqual(['architecture', 'blockCount', 'contextLength', 'fileType', 'parameters'])
      for (const f of m.files as Array<Record<string, unknown>>) expect(Object.keys(f).sort()).toEqual(['bytes', 'path'])
    }
    const bytes = models.reduce((a, m) => a + (m.bytes as number), 0)
    expect(bytes).toBe(mh.totalBytes)
  })

  it('status --json reports residency per file, matching a partial read', () => {
    const models = JSON.parse(hearth(['models', '--json']).out) as Array<{ id: string; files: { path: string; bytes: number }[] }>
    const m = models.find((x) => x.files.length === 1 && x.files[0].bytes > 1 << 20)!
    const file = m.files[0].path
    const fd = openSync(file, 'r')
    fsyncSync(fd) // DONTNEED keeps dirty pages, and the fixture was just written
    fadvise(fd, 0, 0, FADV.DONTNEED)
    fadvise(fd, 0, 0, FADV.RANDOM) // no readahead: only what is read becomes resident
    readSync(fd, Buffer.alloc(64 << 10), 0, 64 << 10, 0) // first 64 KiB
    closeSync(fd)
    // The scan reads every header to name the model; it must leave residency as it found it.
    const r = hearth(['status', '--json', m.id])
    expect(r.code, r.err).toBe(0)
    const [f] = JSON.parse(r.out) as Array<{ path: string; bytes: number; residentBytes: number; model: string }>
    expect(f.path).toBe(file)
    expect(f.model).toBe(m.id)
    expect(f.bytes).toBe(m.files[0].bytes)
    expect(f.residentBytes).toBeGreaterThanOrEqual(64 << 10)
    expect(f.residentBytes).toBeLessThan(f.bytes / 2)
  })

  it('bad input: names the target and the fix, exit codes 1 and 2', () => {
    const missing = hearth(['status', 'no-such-model-xyz'])
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/no-such-model-xyz/)
    const usage = hearth(['serve', '--port', 'abc'])
    expect(usage.code).toBe(2)
    expect(usage.err).toMatch(/--port abc/)
    const unknown = hearth(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/unknown command "frobnicate"/)
  })
})
