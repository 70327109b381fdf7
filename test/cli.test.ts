// The CLI as users run it: a child process over a temp HOME with real layouts of every source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeModelHome, type ModelHome } from './fixtures/model-home'
import { FADV, fadvise } from '../src/main/sys/fadvise'
import { writeGguf } from './helpers/gguf-writer'
import { llamaShape } from './helpers/model-shapes'

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

  it('pin shows the pinned model\'s residency at once, with no daemon running keep-warm', () => {
    const models = JSON.parse(hearth(['models', '--json']).out) as Array<{ id: string; files: { path: string }[] }>
    const m = models.find((x) => x.files.length === 1)!
    readFileSync(m.files[0].path) // all of it in RAM
    const r = hearth(['pin', m.id])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(new RegExp(`^${m.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+100(\\.0)?%\\s`, 'm'))
    expect(hearth(['unpin', m.id]).code).toBe(0)
  })

  it('status of an empty file says empty, not 100% of nothing', () => {
    const empty = join(dir, 'empty.gguf')
    writeFileSync(empty, '')
    const r = hearth(['status', empty])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/\s0 B\s+empty\s+0 B\s+.*empty\.gguf$/m)
  })

  it('models --add-folder brings a folder of models in, kept in settings; --remove-folder takes it out; status says when nothing is known', async () => {
    const folder = join(dir, 'more models')
    mkdirSync(folder)
    await writeGguf(join(folder, 'added-7b.Q4_0.gguf'), { ...llamaShape({ layers: 2, embd: 64, heads: 2, headsKv: 2, ff: 128, vocab: 32, fileType: 'Q4_0' }), sparse: true })
    // A relative path, resolved where the command runs.
    const added = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), 'models', '--add-folder', 'more models', '--json'], { cwd: dir, env: { PATH: process.env.PATH, ...mh.env }, encoding: 'utf8' })
    expect(added.status, added.stderr).toBe(0)
    expect(added.stderr).toContain(`added folder ${folder}`)
    const withFolder = JSON.parse(added.stdout) as { name: string; source: string; files: { path: string }[] }[]
    expect(withFolder).toHaveLength(mh.models.length + 1)
    expect(withFolder.find((m) => m.files[0].path === join(folder, 'added-7b.Q4_0.gguf'))?.source).toBe('folder')
    expect(JSON.parse(hearth(['models', '--json']).out)).toHaveLength(mh.models.length + 1) // kept
    const removed = hearth(['models', '--remove-folder', folder, '--json'])
    expect(removed.code, removed.err).toBe(0)
    expect(JSON.parse(removed.out)).toHaveLength(mh.models.length)
    // A quoted ~/ reaches the backend as it is, which takes it as this user's home.
    mkdirSync(join(mh.home, 'tilde models'))
    const tilde = hearth(['models', '--add-folder', '~/tilde models', '--json'])
    expect(tilde.code, tilde.err).toBe(0)
    expect(hearth(['models', '--remove-folder', join(mh.home, 'tilde models')]).code).toBe(0)
    const notDir = hearth(['models', '--add-folder', join(folder, 'added-7b.Q4_0.gguf')])
    expect(notDir.code).toBe(1)
    expect(notDir.err).toContain(`cannot add ${join(folder, 'added-7b.Q4_0.gguf')}: it is not a folder`)
    const notAdded = hearth(['models', '--remove-folder', folder])
    expect(notAdded.code).toBe(1)
    expect(notAdded.err).toContain(`${folder} is not one of your added folders`)
    // A home with no models at all: status says so and how to add some, rather than an empty table.
    const empty = join(dir, 'empty-home')
    mkdirSync(empty)
    const none = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), 'status'], { cwd: dir, env: { PATH: process.env.PATH, HOME: empty, XDG_CONFIG_HOME: join(empty, '.config'), XDG_DATA_HOME: join(empty, '.local/share'), XDG_CACHE_HOME: join(empty, '.cache'), XDG_RUNTIME_DIR: empty, HEARTH_OLLAMA_SYSTEM_DIR: join(empty, 'no-ollama') }, encoding: 'utf8' })
    expect(none.status, none.stderr).toBe(0)
    expect(none.stdout).toMatch(/^no models found: .*hearth models --add-folder DIR/)
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
    // A negative number reads to the argument parser as another option: the tool says what is wrong.
    const negative = hearth(['run', 'llama', '--leave', '-1'])
    expect(negative.code).toBe(2)
    expect(negative.err).toMatch(/^hearth run: --leave -1: a negative number is not a valid value for --leave\nusage: hearth run /)
  })

  it('output into a pipe whose reader has gone (| head, | true) ends quietly, with no stack trace', () => {
    // `true` exits at once, long before node has started: every write meets a closed pipe.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${join(root, 'bin/hearth.js')}" models | true; echo "exit \${PIPESTATUS[0]}" >&2`], {
      cwd: root,
      env: { PATH: process.env.PATH, ...mh.env },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|node:events/)
    expect(r.stderr).toMatch(/(^|\n)exit 0\n$/)
  })
})
