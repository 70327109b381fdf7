// `hearth tensors` and `hearth record` as users run them (the built CLI in a child process), on a
// split MoE GGUF the test writes: the documented JSON shape, the byte ranges of every shard, the
// JSON-lines recording with its CSV, and the refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseRecording } from '../src/shared/tensors/recording-file'
import { writeSplitGguf } from './helpers/split-gguf'
import { qwen3MoeShape } from './helpers/model-shapes'
import type { WrittenGguf } from './helpers/gguf-writer'
import { evict, readRange } from './support/files'

const root = new URL('..', import.meta.url).pathname
let dir = ''
let shards: WrittenGguf[] = []
const env = () => ({ PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') })

function hearth(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd: root, env: env(), encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

beforeAll(async () => {
  // Under the repository (a disk): residency must be measurable and evictable.
  dir = mkdtempSync(join(root, 'tmp-tensors-cli-'))
  const spec = qwen3MoeShape({ name: 'cli moe', layers: 4, embd: 512, heads: 8, headsKv: 4, ff: 1024, vocab: 4096, experts: { count: 8, used: 2, ff: 512 }, fileType: 'Q8_0' })
  shards = await writeSplitGguf(dir, 'cli-moe', { ...spec, sparse: true }, 2)
})
afterAll(() => {
  for (const s of shards) evict(s.path)
  rmSync(dir, { recursive: true, force: true })
})

describe('hearth tensors', () => {
  it('--json prints each tensor of every shard with name, layer, kind, offset, bytes, residentBytes', () => {
    for (const s of shards) evict(s.path)
    const embd = shards[0].tensors[0]
    readRange(shards[0].path, shards[0].tensorDataOffset + embd.offset, embd.bytes)
    // A shard's path finds its siblings.
    const r = hearth(['tensors', '--json', shards[1].path])
    expect(r.code, r.err).toBe(0)
    const rows = JSON.parse(r.out) as Array<Record<string, unknown>>
    const want = shards.flatMap((s) => s.tensors.map((t) => ({ file: s.path, name: t.name, offset: s.tensorDataOffset + t.offset, bytes: t.bytes })))
    expect(rows.map((x) => ({ file: x.file, name: x.name, offset: x.offset, bytes: x.bytes }))).toEqual(want)
    for (const x of rows) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['name', 'layer', 'kind', 'offset', 'bytes', 'residentBytes']))
      expect(x.layer === null || typeof x.layer === 'number').toBe(true)
    }
    expect(rows[0]).toMatchObject({ name: 'token_embd.weight', layer: null, kind: 'embeddings', residentBytes: embd.bytes })
    expect(rows.find((x) => x.name === 'blk.3.ffn_down_exps.weight')).toMatchObject({ layer: 3, kind: 'experts', experts: 8, residentBytes: 0 })
  })

  it('prints the layers × kinds grid with --layers, and refuses a file that is not GGUF', () => {
    const r = hearth(['tensors', '--layers', shards[0].path])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^LAYER\s+ATTENTION\s+ROUTER\s+EXPERTS\s+NORM\s+ALL/m)
    expect(r.out).toMatch(/^blk\.3\s/m)
    expect(r.out).toMatch(/cli moe: \d+ tensors in 2 files/)
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'hello')
    const bad = hearth(['tensors', text])
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/notes\.txt is not a readable GGUF file/)
    expect(hearth(['tensors']).code).toBe(2)
  })
})

describe('hearth record', () => {
  it('--pid records until that process exits, as JSON lines, with a CSV beside', async () => {
    for (const s of shards) evict(s.path)
    const out = join(dir, 'rec.jsonl')
    const csv = join(dir, 'rec.csv')
    // The process to wait for reads the second shard after a moment, then exits.
    const reader = spawn('sh', ['-c', `sleep 1; cat "${shards[1].path}" > /dev/null; sleep 0.5`])
    const r = hearth(['record', shards[0].path, '--hz', '5', '--pid', String(reader.pid), '--out', out, '--csv', csv])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/sequential: /)
    const rec = parseRecording(readFileSync(out, 'utf8'), out)
    expect(rec.header).toMatchObject({ hz: 5, pid: reader.pid, faultsScope: 'process', method: 'sampled' })
    expect(rec.header.files.map((f) => f.path)).toEqual(shards.map((s) => s.path))
    expect(rec.end?.reason).toBe('pid-exited')
    const added = rec.samples.flatMap((s) => s.added)
    expect(added.length).toBeGreaterThan(0)
    expect(added.every(([file]) => file === 1)).toBe(true)
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toMatch(/^t_ms,event,file,offset_bytes,bytes,first_tensor,sequential/)
  })

  it('refuses to replace an existing file, --pid with --seconds, and a rate above 10 Hz', () => {
    const out = join(dir, 'exists.jsonl')
    writeFileSync(out, 'keep me')
    const r = hearth(['record', shards[0].path, '--seconds', '1', '--out', out])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/exists\.jsonl exists; --out writes a new file only/)
    expect(readFileSync(out, 'utf8')).toBe('keep me')
    const both = hearth(['record', shards[0].path, '--seconds', '1', '--pid', '1', '--out', join(dir, 'x.jsonl')])
    expect(both.code).toBe(2)
    expect(both.err).toMatch(/give --pid or --seconds, not both/)
    const fast = hearth(['record', shards[0].path, '--hz', '50', '--out', join(dir, 'y.jsonl')])
    expect(fast.code).toBe(2)
    expect(fast.err).toMatch(/--hz takes a rate above 0 and at most 10/)
    const missing = hearth(['record', 'no-such-model-xyz', '--seconds', '1', '--out', join(dir, 'z.jsonl')])
    expect(missing.code).toBe(1)
    expect(existsSync(join(dir, 'z.jsonl'))).toBe(false)
  })
})
