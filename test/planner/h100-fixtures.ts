// The H100 measurements (test/fixtures/vram-h100): the table and the six models' GGUF headers,
// restored to sparse files of their real size for the planner to read.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { readGgufHeader } from '../../src/main/services/gguf/read-gguf'
import { defaultPlanOptions, modelShapeFrom, type KvCacheType, type ModelShape } from '../../src/shared/planner'

export const dataDir = resolve(__dirname, '../fixtures/vram-h100')

export interface Row {
  [k: string]: string
}

export function readTsv(path: string): Row[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n')
  const cols = head.split('\t')
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])))
}

export const measuredRows = () => readTsv(join(dataDir, 'measured.tsv'))

/** Restores every model's file into `dir` (sparse beyond the header) and reads its shape. */
export async function restoreShapes(dir: string, only?: string[]): Promise<Map<string, ModelShape>> {
  const sizes = readTsv(join(dataDir, 'gguf-headers/sizes.tsv')).filter((s) => !only || only.includes(s.model))
  const shapes = new Map<string, ModelShape>()
  for (const s of sizes) {
    const file = join(dir, `${s.model}.gguf`)
    execFileSync('sh', ['-c', `gunzip -c "$1" > "$2" && truncate -s "$3" "$2"`, 'sh', join(dataDir, `gguf-headers/${s.model}.gguf.head.gz`), file, s.bytes])
    const h = await readGgufHeader(file)
    shapes.set(s.model, modelShapeFrom(file, h.metadata, h.tensors, Number(s.bytes)))
  }
  return shapes
}

/** A measured row's llama-server flags as planner options. */
export function optionsOfRow(r: Row) {
  return {
    ...defaultPlanOptions,
    ctx: Number(r.ctx),
    ngl: Number(r.ngl),
    parallel: Number(r.np),
    kvUnified: r.kvu === '1',
    cacheTypeK: r.ctk as KvCacheType,
    cacheTypeV: r.ctk as KvCacheType,
    flashAttn: r.fa === 'on',
    ubatch: Number(r.ub),
    cpuMoe: r.extra === 'cpu-moe',
    promptTokens: Number(r.prompt_tokens),
  }
}
