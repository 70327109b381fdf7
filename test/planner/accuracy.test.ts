// Holds the planner to llama.cpp as measured on an H100 (test/fixtures/vram-h100, 99 runs; its
// README says how they were measured):
// nvidia-smi's per-process figure after a request against the planner's VRAM total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { estimateModel, cudaProcess, type ModelShape } from '../../src/shared/planner'
import { measuredRows, optionsOfRow, restoreShapes, type Row } from './h100-fixtures'

describe('planner vs measured llama.cpp on an H100', () => {
  it('matches llama.cpp buffers and nvidia-smi after a request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-vram-'))
    try {
      const shapes = await restoreShapes(dir)
      const rows = measuredRows()
      expect(rows.length).toBe(99)
      const errs: Array<{ model: string; pct: number; row: Row; got: number }> = []
      let weightsExact = 0
      let kvExact = 0
      for (const r of rows) {
        const p = estimateModel(shapes.get(r.model)!, optionsOfRow(r))
        if (Math.abs(p.vram.weightsMiB - Number(r.cuda0_model_MiB)) < 0.02) weightsExact++
        if (Math.abs(p.vram.kvMiB - Number(r.cuda0_kv_MiB)) < 0.05) kvExact++
        const smi = Number(r.smi_used_after_req_MiB)
        errs.push({ model: r.model, pct: ((p.vram.totalMiB - smi) / smi) * 100, row: r, got: p.vram.totalMiB })
      }
      const stats = (es: typeof errs) => ({
        mae: es.reduce((s, e) => s + Math.abs(e.pct), 0) / es.length,
        worst: es.reduce((w, e) => (Math.abs(e.pct) > Math.abs(w.pct) ? e : w), es[0]),
      })
      const all = stats(errs)
      const lines = [`planner vs nvidia-smi after request, ${errs.length} rows: MAE ${all.mae.toFixed(2)}%, worst ${all.worst.pct.toFixed(2)}% (${all.worst.model} ngl ${all.worst.row.ngl} ctx ${all.worst.row.ctx} fa ${all.worst.row.fa} ub ${all.worst.row.ub} ${all.worst.row.extra}: ${all.worst.got.toFixed(0)} vs ${all.worst.row.smi_used_after_req_MiB})`]
      lines.push(`weights exact (±0.02 MiB) ${weightsExact}/${rows.length}, KV exact (±0.05 MiB) ${kvExact}/${rows.length}`)
      for (const m of shapes.keys()) {
        const s = stats(errs.filter((e) => e.model === m))
        lines.push(`  ${m.padEnd(22)} MAE ${s.mae.toFixed(2)}%  worst ${s.worst.pct.toFixed(2)}% (ngl ${s.worst.row.ngl} ctx ${s.worst.row.ctx} fa ${s.worst.row.fa} ub ${s.worst.row.ub} ${s.worst.row.extra})`)
      }
      console.log(lines.join('\n'))
      if (process.env.HEARTH_PLANNER_ROWS) for (const e of errs) console.log(`${e.model}\tngl ${e.row.ngl}\tctx ${e.row.ctx}\tnp ${e.row.np}\tkvu ${e.row.kvu}\t${e.row.ctk}\tfa ${e.row.fa}\tub ${e.row.ub}\t${e.row.extra}\t${e.got.toFixed(1)}\t${e.row.smi_used_after_req_MiB}\t${e.pct.toFixed(2)}%`)
      // Leave one model out: the three measured kernel/pool constants are re-measured on the other
      // models' rows only (median residual per mechanism), then the held-out model is predicted.
      // A mechanism no remaining model shows (MoE kernels when the MoE model is held out) gets 0.
      const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0)
      const held: typeof errs = []
      for (const m of shapes.keys()) {
        const train = rows.filter((r) => r.model !== m)
        const isMoe = (r: Row) => Number(r.n_expert) > 0
        const resid = (r: Row, proc: typeof cudaProcess) => Number(r.smi_used_after_req_MiB) - estimateModel(shapes.get(r.model)!, optionsOfRow(r), proc).vram.totalMiB
        const proc = { ...cudaProcess, firstRequestKernelsMiB: 0, moeKernelsMiB: 0, gemmKernelsMiB: 0 }
        proc.firstRequestKernelsMiB = median(train.filter((r) => !isMoe(r) && r.fa === 'on').map((r) => resid(r, proc)))
        proc.gemmKernelsMiB = median(train.filter((r) => !isMoe(r) && r.fa === 'off').map((r) => resid(r, proc)))
        proc.moeKernelsMiB = median(train.filter((r) => isMoe(r) && r.fa === 'on').map((r) => resid(r, proc)))
        for (const r of rows.filter((x) => x.model === m)) {
          const got = estimateModel(shapes.get(m)!, optionsOfRow(r), proc).vram.totalMiB
          const smi = Number(r.smi_used_after_req_MiB)
          held.push({ model: m, pct: ((got - smi) / smi) * 100, row: r, got })
        }
        lines.push(`  held out ${m.padEnd(22)} re-measured kernels ${proc.firstRequestKernelsMiB.toFixed(1)} / gemm ${proc.gemmKernelsMiB.toFixed(1)} / moe ${proc.moeKernelsMiB.toFixed(1)} MiB → MAE ${stats(held.filter((e) => e.model === m)).mae.toFixed(2)}%`)
      }
      // Layers left on the host: what stays on the GPU is derived from llama.cpp's scheduler (op
      // offload from 32 tokens, one weight copy at a time), with no constant fitted to these rows.
      const partial = (es: typeof errs) => es.filter((e) => Number(e.row.ngl) < Number(e.row.n_layer) + 1)
      const p = stats(partial(errs))
      const p0 = stats(errs.filter((e) => e.row.ngl === '0'))
      const compErr = partial(errs).map((e) => estimateModel(shapes.get(e.model)!, optionsOfRow(e.row)).vram.computeMiB - Number(e.row.cuda0_compute_MiB))
      lines.push(`layers on the host (ngl < all), ${partial(errs).length} rows: MAE ${p.mae.toFixed(2)}%, worst ${p.worst.pct.toFixed(2)}% (${p.worst.model} ngl ${p.worst.row.ngl} ub ${p.worst.row.ub}); -ngl 0, ${errs.filter((e) => e.row.ngl === '0').length} rows: MAE ${p0.mae.toFixed(2)}%, worst ${p0.worst.pct.toFixed(2)}% (${p0.worst.model})`)
      lines.push(`  their compute buffer against llama.cpp's own: mean |error| ${(compErr.reduce((a, x) => a + Math.abs(x), 0) / compErr.length).toFixed(1)} MiB, worst ${compErr.reduce((w, x) => (Math.abs(x) > Math.abs(w) ? x : w), 0).toFixed(1)} MiB`)
      const heldPartial = stats(partial(held))
      lines.push(`  held out (leave-one-model-out), ngl < all: MAE ${heldPartial.mae.toFixed(2)}%, worst ${heldPartial.worst.pct.toFixed(2)}% (${heldPartial.worst.model} ngl ${heldPartial.worst.row.ngl}); -ngl 0: MAE ${stats(held.filter((e) => e.row.ngl === '0')).mae.toFixed(2)}% (without the MoE model: ${stats(held.filter((e) => e.row.ngl === '0' && !e.model.includes('moe'))).mae.toFixed(2)}%)`)
      expect(p0.mae).toBeLessThanOrEqual(1)
      expect(Math.abs(p0.worst.pct)).toBeLessThanOrEqual(2)
      const lomo = stats(held)
      const lomoDense = stats(held.filter((e) => !e.model.includes('moe')))
      lines.push(`leave-one-model-out: MAE ${lomo.mae.toFixed(2)}%, worst ${lomo.worst.pct.toFixed(2)}% (${lomo.worst.model} ngl ${lomo.worst.row.ngl} fa ${lomo.worst.row.fa} ub ${lomo.worst.row.ub} ${lomo.worst.row.extra}); without the MoE model: MAE ${lomoDense.mae.toFixed(2)}%, worst ${lomoDense.worst.pct.toFixed(2)}%`)
      console.log(lines.slice(-10).join('\n'))
      expect(all.mae).toBeLessThanOrEqual(2)
      expect(lomoDense.mae).toBeLessThanOrEqual(2)
      expect(Math.abs(lomoDense.worst.pct)).toBeLessThanOrEqual(5)
      expect(Math.abs(all.worst.pct)).toBeLessThanOrEqual(5)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('what stays on the GPU with layers on the host (from llama.cpp\'s source, beyond the measured rows)', () => {
  let dir: string
  let s: ModelShape
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-ngl0-'))
    s = (await restoreShapes(dir, ['qwen2.5-7b-q4km'])).get('qwen2.5-7b-q4km')!
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const row = () => measuredRows().find((r) => r.model === 'qwen2.5-7b-q4km' && r.ngl === '0')!

  it('-ngl 0 with a ubatch under 32 tokens: no op is offloaded, so no compute buffer, cuBLAS handle or kernels', () => {
    const base = optionsOfRow(row())
    expect(base).toMatchObject({ ngl: 0, ctx: 8192, ubatch: 512 })
    const small = estimateModel(s, { ...base, ubatch: 16 })
    expect(small.vram).toEqual({ weightsMiB: 0, kvMiB: 0, computeMiB: 0, overheadMiB: cudaProcess.contextMiB, totalMiB: cudaProcess.contextMiB })
    expect(small.terms.map((t) => t.what)).toContain('no GPU compute')
    // From 32 tokens ggml-cuda takes the ops: the graph, one weight copy, the whole per-process set.
    const at32 = estimateModel(s, { ...base, ubatch: 32 })
    expect(at32.vram.computeMiB).toBeGreaterThan(0)
    expect(at32.vram.overheadMiB).toBeGreaterThan(cudaProcess.contextMiB + cudaProcess.cublasHandleMiB)
  })

  it('-ngl 0 at a long context: attention of a host layer copies its K and V in, and that is the peak', () => {
    const o = { ...optionsOfRow(row()), ctx: 131072, promptTokens: undefined }
    const p = estimateModel(s, o)
    const MiB = 2 ** 20
    const layerKv = 131072 * 2 * 512 * 2 // K and V of one layer: 4 KV heads × 128, f16
    const mask = 512 * 131072 * 2
    const around = 512 * 4 * 4 * 3584
    expect(p.vram.computeMiB).toBeCloseTo((layerKv + mask + around) / MiB, 1)
    expect(p.terms.find((t) => t.what === 'KV copy of a host layer')).toBeDefined()
    // At the measured 8192 tokens the copy hides under the FFN peak and the weight copy.
    expect(estimateModel(s, { ...o, ctx: 8192 }).terms.find((t) => t.what === 'KV copy of a host layer')).toBeUndefined()
  })
})
