// `hearth run` as users run it: the built CLI (out/, with out/main/lab-loader.js as the built-in
// loader) in a child process, over a real GGUF that llama.cpp loads.
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeLoadableModel } from './support/lab-setup'

const root = new URL('..', import.meta.url).pathname
const dir = join(root, 'tmp', `lab-cli-${process.pid}`)
const model = join(dir, 'cli-small.gguf')

function hearth(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none') },
    encoding: 'utf8',
    timeout: 240_000,
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true })
  await writeLoadableModel(model, 'small')
  writeFileSync(join(dir, 'not-a-model.gguf'), 'hello, not a GGUF at all')
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('hearth run', () => {
  it('--json: progress lines, then exactly {model, loader, runs: [{mode, loadMs, firstTokenMs, tokensPerSec, majorFaults, readBytes, residentBeforeBytes, residentAfterBytes, …}]}', () => {
    const r = hearth(['run', model, '--matrix', 'cold,warm', '--tokens', '2', '--json'])
    expect(r.code, r.err).toBe(0)
    const lines = r.out.trim().split('\n')
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow()
    const last = JSON.parse(lines.at(-1)!) as { model: string; loader: string; runs: Record<string, unknown>[] }
    expect(Object.keys(last)).toEqual(['model', 'loader', 'runs'])
    expect(last.model).toBe('cli-small.gguf')
    expect(last.loader).toBe('builtin')
    expect(last.runs.map((x) => x.mode)).toEqual(['cold', 'warm'])
    for (const run of last.runs) {
      expect(Object.keys(run).slice(0, 8)).toEqual(['mode', 'loadMs', 'firstTokenMs', 'tokensPerSec', 'majorFaults', 'readBytes', 'residentBeforeBytes', 'residentAfterBytes'])
      for (const k of ['loadMs', 'firstTokenMs', 'tokensPerSec', 'majorFaults', 'readBytes', 'residentBeforeBytes', 'residentAfterBytes', 'pid', 'startedAtMs', 'endedAtMs']) expect(typeof run[k], k).toBe('number')
      expect(run).not.toHaveProperty('samples')
    }
    // The lines before are the job's progress, as every long command prints them.
    expect(JSON.parse(lines[0])).toMatchObject({ kind: 'lab', label: 'cli-small.gguf' })
  }, 300_000)

  it('prints a table on a plain run', () => {
    const r = hearth(['run', model, '--matrix', 'warm', '--tokens', '2'])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^MODE\s+#\s+LOAD\s+1ST TOKEN\s+TOK\/S\s+READ/m)
    expect(r.out).toMatch(/^warm\s+1\s+\d+ ms/m)
  }, 300_000)

  it('names the bad input and the fix', () => {
    const bad = (args: string[], code: number, message: RegExp) => {
      const r = hearth(['run', ...args])
      expect(r.code, r.err).toBe(code)
      expect(r.err).toMatch(message)
    }
    bad([model, '--matrix', 'cold,hot'], 2, /--matrix must be one of cold, warm, staged, locked \(got "hot"\)/)
    bad([model, '--leave', 'lots'], 2, /--leave takes GiB the model may keep in RAM/)
    bad([model, '--limit-by', 'pressure'], 2, /--limit-by needs --leave GIB/)
    bad([model, '--loader', 'vllm'], 2, /--loader must be one of builtin, llama-cli, ollama/)
    bad([model, '--repeat', '0'], 2, /--repeat must be a whole number of at least 1/)
    bad([model, '--leave', '100000'], 1, /leaving the model 97\.7 TiB is more than this machine's RAM \(\d+(\.\d+)? GiB\), so nothing would be limited; give --leave in GiB under \d+/)
    bad([], 2, /name one model/)
    bad([join(dir, 'missing.gguf')], 1, /missing\.gguf/)
    bad([join(dir, 'not-a-model.gguf')], 1, /is not a GGUF file/)
  }, 120_000)
})
