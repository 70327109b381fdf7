// Version-gated export flags: what the user's llama-server accepts, asked through a stub on PATH
// that prints samples in llama-server's --version / --help format (test/fixtures/llama-server).
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { findLlamaServer, llamaCapabilities } from './llama-server'
import { defaultPlanOptions, estimateModel, planExports, type ModelShape } from '../../../shared/planner'

const stubDir = resolve(__dirname, '../../../../test/fixtures/llama-server/stub')
const tensors = [
  { name: 'token_embd.weight', shape: [256, 1000], type: 1 },
  { name: 'blk.0.attn_q.weight', shape: [256, 256], type: 1 },
  { name: 'output.weight', shape: [256, 1000], type: 1 },
]
const shape: ModelShape = {
  path: '/models/m.gguf', name: 'm', arch: 'llama', nLayer: 1, nEmbd: 256, nHead: 4, nHeadKv: [4], headDimK: 64, headDimV: 64, nFf: 512, nVocab: 1000,
  nCtxTrain: 4096, nSwa: 0, swaLayers: [false], nExpert: 0, nExpertUsed: 0, nFfExp: 0, kvLoraRank: 0, ropeDimMla: 0, recurrentStateBytesPerLayer: 0, tied: false, fileBytes: 1, tensors,
}
const plan = estimateModel(shape, { ...defaultPlanOptions, kvUnified: true, flashAttn: true, cacheRamMiB: 0 })

afterEach(() => delete process.env.HEARTH_TEST_LLAMA)

describe('llama-server capabilities', () => {
  it('finds no llama-server on an empty PATH: flags kept, each with a note', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hearth-nollama-'))
    try {
      expect(await findLlamaServer(empty)).toBeNull()
      expect(await llamaCapabilities(empty)).toBeNull()
      const e = planExports([plan])
      expect(e.commands[0]).toContain('-fa on')
      expect(e.commands[0]).toContain('-kvu')
      expect(e.commands[0]).toContain('-cram 0')
      expect(e.notes.join('\n')).toMatch(/-cram is accepted only by llama-server from October 2025 .*Hearth found no llama-server to ask/)
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it('a current build: every flag it lists is emitted, -fa with its value', async () => {
    process.env.HEARTH_TEST_LLAMA = 'new'
    const caps = (await llamaCapabilities(`${stubDir}:/usr/bin`, { fresh: true }))!
    expect(caps).toMatchObject({ path: join(stubDir, 'llama-server'), version: 'b7900 (80fb11a2)', build: 7900, faTakesValue: true })
    expect(caps.flags).toEqual(expect.arrayContaining(['-cram', '--cache-ram', '-kvu', '--kv-unified', '-ctkd', '--spec-draft-model', '-md', '--no-mmproj-offload']))
    const e = planExports([plan], { llama: caps })
    expect(e.commands[0]).toMatch(/-fa on .*-kvu .*-cram 0 --port 8080$/)
    expect(e.notes).toEqual([])
  })

  it('an old build: -cram and -kvu left out with a note, a bare -fa, LLAMA_ARG_FLASH_ATTN as a switch', async () => {
    process.env.HEARTH_TEST_LLAMA = 'old'
    const caps = (await llamaCapabilities(`${stubDir}:/usr/bin`, { fresh: true }))!
    expect(caps).toMatchObject({ version: 'b4400 (6e1531ad)', faTakesValue: false })
    const e = planExports([plan], { llama: caps })
    expect(e.commands[0]).not.toContain('-cram')
    expect(e.commands[0]).not.toContain('-kvu')
    expect(e.commands[0]).toMatch(/ -fa -ub 512 /)
    expect(e.env).toContain('LLAMA_ARG_FLASH_ATTN=1')
    expect(e.env).not.toContain('LLAMA_ARG_CACHE_RAM')
    expect(e.notes.join('\n')).toMatch(/-kvu left out: your llama-server \(b4400 \(6e1531ad\).*does not accept it/)
    expect(e.notes.join('\n')).toMatch(/-cram left out/)
  })
})
