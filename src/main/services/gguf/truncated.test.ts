// A GGUF cut short (an interrupted download) is named as truncated, with where it ends: by the
// header reader, in the catalog's skipped list, and by `hearth plan` — never as a model without
// llama.block_count.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeGguf, type WrittenGguf } from '../../../../test/helpers/gguf-writer'
import { llamaShape } from '../../../../test/helpers/model-shapes'
import { createHub } from '../../hub'
import { createCatalogService } from '../catalog'
import { GgufTruncatedError, readGgufHeader } from './read-gguf'

const root = join(__dirname, '../../../..')
let dir: string
let folder: string
let whole: WrittenGguf
/** Cut inside the metadata (key/values), inside the tensor descriptions, and inside the weights */
const cut = { metadata: '', tensors: '', data: '' }
let tensorsCutAt = 0

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-truncated-'))
  folder = join(dir, 'models')
  mkdirSync(folder)
  whole = await writeGguf(join(dir, 'whole.gguf'), llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 2048, fileType: 'Q8_0', name: 'cut' }))
  const bytes = readFileSync(whole.path)
  // 21 tensor descriptions of ~40 bytes end just before the aligned data offset.
  tensorsCutAt = whole.tensorDataOffset - 100
  const write = (name: string, n: number) => (writeFileSync(join(folder, name), bytes.subarray(0, n)), join(folder, name))
  cut.metadata = write('cut-in-metadata.gguf', 200)
  cut.tensors = write('cut-in-tensors.gguf', tensorsCutAt)
  cut.data = write('cut-in-weights.gguf', whole.tensorDataOffset + 1000)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a GGUF cut short', () => {
  it('the header reader says truncated, where, and how long the header is at least', async () => {
    const inMeta = await readGgufHeader(cut.metadata).catch((e) => e)
    expect(inMeta).toBeInstanceOf(GgufTruncatedError)
    expect(inMeta).toMatchObject({ fileBytes: 200, section: 'metadata' })
    expect(inMeta.message).toMatch(/^truncated GGUF: the file is 200 bytes and ends inside its header, in the metadata \(key\/value pairs\), which needs at least \d+ bytes; an interrupted download\?/)
    expect(inMeta.headerBytesAtLeast).toBeGreaterThan(200)

    const inTensors = await readGgufHeader(cut.tensors).catch((e) => e)
    expect(inTensors).toBeInstanceOf(GgufTruncatedError)
    expect(inTensors).toMatchObject({ fileBytes: tensorsCutAt, section: 'tensor descriptions' })
    expect(inTensors.message).toContain(`the file is ${tensorsCutAt} bytes and ends inside its header, in the tensor descriptions`)

    // Cut in the weights: the header is whole and reads as it is.
    const h = await readGgufHeader(cut.data)
    expect(h.metadata['llama.block_count']).toBe(2)
    expect(h.tensorDataOffset).toBe(whole.tensorDataOffset)
  })

  it("the catalog's skipped list says truncated and where, for each cut", async () => {
    const svc = createCatalogService({
      env: { HOME: join(dir, 'home'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none') },
      hub: createHub(),
      settings: { get: () => ({ folders: [folder] }) as never },
    })
    const c = await svc.scan()
    expect(c.models).toEqual([])
    const reason = (p: string) => c.skipped.find((s) => s.path === p)?.reason
    expect(reason(cut.metadata)).toMatch(/^truncated GGUF: the file is 200 bytes and ends inside its header, in the metadata/)
    expect(reason(cut.tensors)).toMatch(new RegExp(`^truncated GGUF: the file is ${tensorsCutAt} bytes and ends inside its header, in the tensor descriptions`))
    expect(reason(cut.data)).toMatch(new RegExp(`^truncated GGUF: the header describes \\d+ bytes, the file has ${whole.tensorDataOffset + 1000}`))
  })

  it('`hearth plan` says the file is truncated and where, not "no llama.block_count"', () => {
    for (const [file, where] of [
      [cut.metadata, 'in the metadata'],
      [cut.tensors, 'in the tensor descriptions'],
    ]) {
      const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), 'plan', file, '--vram-mib', '8192'], {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: join(dir, 'home'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none'), HEARTH_NO_DAEMON: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(r.status, r.stderr).toBe(1)
      expect(r.stderr).toContain(`truncated GGUF: the file is ${file === cut.metadata ? 200 : tensorsCutAt} bytes and ends inside its header, ${where}`)
      expect(r.stderr).not.toMatch(/block_count|language model/)
    }
  })
})

describe('a file that is no GGUF at all', () => {
  it('is named for what it is: empty, cut within the magic, a safetensors file, something else', async () => {
    const put = (name: string, data: Buffer) => (writeFileSync(join(dir, name), data), join(dir, name))
    const st = Buffer.alloc(8 + 2)
    st.writeBigUInt64LE(2n)
    st.write('{}', 8)
    const cases: [string, RegExp][] = [
      [put('empty.gguf', Buffer.alloc(0)), /^it is an empty file \(0 bytes\): an interrupted or placeholder download$/],
      [put('three.gguf', Buffer.from('GGU')), /^truncated GGUF: the file is 3 bytes/],
      [put('st.gguf', st), /^it is a safetensors file, not a GGUF$/],
      [put('elf.gguf', Buffer.from('\x7fELF\x02\x01\x01\x00', 'latin1')), /^it does not start with the GGUF magic bytes \(it starts with 0x7f454c46\)$/],
    ]
    for (const [path, re] of cases) expect(((await readGgufHeader(path).catch((e: Error) => e)) as Error).message).toMatch(re)
    // `hearth tensors` and `hearth plan` carry the reason
    const tensors = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), 'tensors', cases[0][0]], { encoding: 'utf8', env: { ...process.env, HEARTH_NO_DAEMON: '1', XDG_CONFIG_HOME: join(dir, 'cfg') } })
    expect(tensors.status).toBe(1)
    expect(tensors.stderr).toMatch(/empty\.gguf is not a readable GGUF file \(it is an empty file \(0 bytes\)/)
  })
})
