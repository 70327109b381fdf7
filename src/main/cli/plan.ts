// `hearth plan`: VRAM/RAM per model at the given llama-server flags, repeatable for several models
// (each model's flags follow it); models without a fixed -ngl get theirs from the joint solver
// under --objective. `hearth plan --check PID` compares a running server with its plan.
import { planObjectives, type ModelPlan, type PlanAlternative, type PlanObjective, type PlanResult } from '../../shared/planner'
import { serverFlag, intValue } from '../../shared/planner/server-args'
import type { PlanCheck } from '../../shared/api'
import type { planModelInput } from '../../shared/contract/planner'
import type { z } from 'zod'
import { UsageError, type CliCommand } from './command'

type ModelArgs = z.input<typeof planModelInput>

export interface PlanArgs {
  models: ModelArgs[]
  /** One card */
  vramMiB?: number
  /** --vram-mib A,B,…: several cards, in the order --device and --tensor-split count them */
  gpusMiB?: number[]
  marginMiB?: number
  objective?: PlanObjective
  /** --check PID: compare a running server with its plan instead */
  checkPid?: number
  json: boolean
}

const usage =
  'hearth plan GGUF_OR_MODEL [--ctx N] [--ngl N|max] [--parallel N] [--kv-unified] [--cache-type-k T] [--cache-type-v T] [--flash-attn on|off] [--ubatch N] [--cpu-moe] [--device N] [--tensor-split a,b,…] [--mmproj FILE|auto] [-md DRAFT [-ngld N] [-cd N]] [GGUF_OR_MODEL …] [--vram-mib A[,B…]] [--margin-mib N] [--objective all|priority|balanced] [--json]\n  hearth plan --check PID [--json]'

const int = (flag: string, v: string | undefined, min: number) => usageError(() => intValue(flag, v, min))

/** The shared flag parsers throw plain Errors; on the command line they are usage errors. */
function usageError<T>(f: () => T): T {
  try {
    return f()
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** Flags as llama-server names them, long and short. */
export function parsePlanArgs(argv: string[]): PlanArgs {
  const out: PlanArgs = { models: [], json: false }
  let cur: ModelArgs | undefined
  const need = (flag: string) => {
    if (!cur) throw new UsageError(`${flag} must follow the model it applies to, e.g. hearth plan model.gguf ${flag} …`)
    return cur
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const val = () => (inline !== undefined ? inline : argv[++i])
    switch (flag) {
      case '--json': out.json = true; continue
      case '--vram-mib': {
        const mibs = (val() ?? '').split(',').map((x) => int(flag, x.trim(), 1))
        if (mibs.length === 1) out.vramMiB = mibs[0]
        else out.gpusMiB = mibs
        continue
      }
      case '--margin-mib': out.marginMiB = int(flag, val(), 0); continue
      case '--objective': {
        const v = val()
        if (!(planObjectives as readonly string[]).includes(v ?? '')) throw new UsageError(`--objective takes ${planObjectives.join(', ')} (got ${v === undefined ? 'nothing' : JSON.stringify(v)}): balanced makes the slowest model as fast as it can be, all keeps as many models whole as fit, priority keeps the first whole and shares the rest`)
        out.objective = v as PlanObjective
        continue
      }
      case '--check': out.checkPid = int('--check', val(), 1); continue
    }
    const f = serverFlag(flag)
    if (f) {
      const m = need(flag)
      usageError(() => f.apply(m as never, f.value ? val() : undefined))
      continue
    }
    if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}; see the usage below (flags are named as llama-server names them)`)
    cur = { target: a }
    out.models.push(cur)
  }
  if (out.checkPid !== undefined) {
    if (out.models.length) throw new UsageError(`--check PID compares a running server with its own command line: give no model with it (got ${out.models.map((m) => m.target).join(', ')})`)
    return out
  }
  if (!out.models.length) throw new UsageError('name at least one GGUF file or model to plan')
  const nGpu = out.gpusMiB?.length ?? 1
  for (const m of out.models) {
    if (m.device !== undefined && m.tensorSplit) throw new UsageError(`${m.target}: give --device or --tensor-split, not both (--device N = the whole model on card N)`)
    if (m.device !== undefined && m.device >= nGpu && (out.gpusMiB || out.vramMiB))
      throw new UsageError(`--device ${m.device} is out of range: --vram-mib lists ${nGpu} card${nGpu > 1 ? 's' : ''} (0–${nGpu - 1}); use --device 0…${nGpu - 1} or list more cards, e.g. --vram-mib 24576,24576`)
    if (m.tensorSplit && m.tensorSplit.length > nGpu && (out.gpusMiB || out.vramMiB))
      throw new UsageError(`--tensor-split ${m.tensorSplit.join(',')} has ${m.tensorSplit.length} ratios for ${nGpu} card${nGpu > 1 ? 's' : ''}; give one per card listed in --vram-mib, e.g. --vram-mib ${m.tensorSplit.map(() => 24576).join(',')}`)
  }
  return out
}

/**
 * The --json shape the issue fixes for one card, plus what the joint solver adds: `objective`,
 * each model's `layers` (n_layer + 1: whole is ngl == layers) and `estTokensPerSec`, and
 * `alternatives` in the same shape (with why each ranked where it did). Several cards add `gpus`
 * and each model's `vramByGpu` (vramTotalMiB is then their sum and marginMiB the tightest card's).
 */
export function planJson(r: PlanResult) {
  const multi = r.gpus.length > 1
  const models = (ms: ModelPlan[]) =>
    ms.map((m) => ({
      path: m.path,
      ngl: m.ngl,
      vram: m.vram,
      host: m.host,
      ...(multi ? { vramByGpu: m.vramByGpu } : {}),
      layers: m.nglAll,
      estTokensPerSec: m.speed?.tokensPerSec ?? null,
      ...(m.projector ? { projector: { path: m.projector.path, onGpu: m.projector.onGpu, weightsMiB: m.projector.weightsMiB, computeMiB: m.projector.computeMiB } } : {}),
      ...(m.draft ? { draft: { path: m.draft.path, ngl: m.draft.ngl, layers: m.draft.nglAll, ctx: m.draft.ctx, vram: m.draft.vram } } : {}),
    }))
  const gpus = (g: PlanResult['gpus']) => g.map((x) => ({ index: x.index, name: x.name, vramTotalMiB: x.vramTotalMiB, usedMiB: x.usedMiB, marginMiB: x.marginMiB, fits: x.fits }))
  const alternative = (a: PlanAlternative) => ({
    models: models(a.models),
    vramTotalMiB: r.vramTotalMiB,
    fits: a.fits,
    marginMiB: a.marginMiB,
    ...(multi ? { gpus: gpus(a.gpus) } : {}),
    why: a.why,
  })
  return {
    models: models(r.models),
    vramTotalMiB: r.vramTotalMiB,
    fits: r.fits,
    marginMiB: r.marginMiB,
    ...(multi ? { gpus: gpus(r.gpus), note: r.multiGpuNote } : {}),
    objective: r.objective,
    alternatives: r.alternatives.map(alternative),
  }
}

const f = (mib: number) => (mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${Math.round(mib)} MiB`)

export function planText(r: PlanResult): string {
  const multi = r.gpus.length > 1
  const lines = multi ? r.gpus.map((g) => `GPU ${g.index} ${g.name}: ${f(g.vramTotalMiB)}`) : [`${r.gpuName}: ${f(r.vramTotalMiB)}`]
  for (const m of r.models) {
    lines.push(
      '',
      `${m.name}  (${m.path})`,
      `  -ngl ${m.ngl}/${m.nglAll}  -c ${m.ctx}${m.options.parallel > 1 ? ` (${m.ctxPerSlot} per slot × ${m.options.parallel})` : ''}  KV ${m.options.cacheTypeK}/${m.options.cacheTypeV}  fa ${m.options.flashAttn ? 'on' : 'off'}`,
      `  VRAM ${f(m.vram.totalMiB)} = weights ${f(m.vram.weightsMiB)} + KV ${f(m.vram.kvMiB)} + compute ${f(m.vram.computeMiB)} + CUDA ${f(m.vram.overheadMiB)}`,
      ...(multi ? m.vramByGpu.flatMap((v, g) => (v.totalMiB > 0 ? [`    GPU ${g}: ${f(v.totalMiB)} = weights ${f(v.weightsMiB)} + KV ${f(v.kvMiB)} + compute ${f(v.computeMiB)} + CUDA ${f(v.overheadMiB)}`] : [])) : []),
      `  RAM  ${f(m.host.totalMiB)} = weights ${f(m.host.weightsMiB)} (page cache) + KV ${f(m.host.kvMiB)} + other ${f(m.host.otherMiB)}`,
      ...(m.projector ? [`  projector ${m.projector.name}: ${m.projector.onGpu ? 'GPU' : 'CPU'} ${f(m.projector.weightsMiB)} weights + ${f(m.projector.computeMiB)} compute (${m.projector.patches} patches; modelled, not measured)`] : []),
      ...(m.draft ? [`  draft ${m.draft.name}: -ngld ${m.draft.ngl}/${m.draft.nglAll} -c ${m.draft.ctx}: VRAM ${f(m.draft.vram.totalMiB)} = weights ${f(m.draft.vram.weightsMiB)} + KV ${f(m.draft.vram.kvMiB)} + compute ${f(m.draft.vram.computeMiB)}`] : []),
      ...(m.speed ? [`  ≈ ${m.speed.tokensPerSec} tok/s decode (estimate: ${m.speed.formula})`, ...m.speed.assumptions.map((a) => `    (${a})`)] : []),
      ...(m.contextOptions?.length ? [`  context that fits beside the others (-c per slot; 1/2/4 slots): ${['f16', 'q8_0', 'q4_0'].map((t) => `${t} ${m.contextOptions!.filter((o) => o.cacheType === t && [1, 2, 4].includes(o.parallel)).map((o) => o.maxCtxPerSlot || '—').join('/')} (${m.contextOptions!.find((o) => o.cacheType === t)?.kvMiBPer1k} MiB per 1k)`).join(' · ')}`] : []),
      ...(m.deviation ? [`  on this machine, plans for ${m.deviation.arch} were off by ${m.deviation.meanMiB >= 0 ? '+' : ''}${m.deviation.meanMiB} MiB (${m.deviation.samples} check${m.deviation.samples > 1 ? 's' : ''} on ${m.deviation.card})`] : []),
      ...m.warnings.map((w) => `  ! ${w}`),
    )
  }
  const verdict = (fits: boolean, used: number, total: number, margin: number) =>
    `${fits ? 'FITS' : 'DOES NOT FIT'}: ${f(used)} of ${f(total)}, ${margin >= 0 ? `${f(margin)} free` : `${f(-margin)} short`} (keeping ${f(r.requiredMarginMiB)} spare)`
  if (multi) {
    lines.push('', ...r.gpus.map((g) => `GPU ${g.index} ${verdict(g.fits, g.usedMiB, g.vramTotalMiB, g.marginMiB)}`))
    lines.push(`${r.fits ? 'FITS on every card' : 'DOES NOT FIT on every card'}`, `note: ${r.multiGpuNote}`)
  } else lines.push('', verdict(r.fits, r.vramUsedMiB, r.vramTotalMiB, r.marginMiB))
  lines.push('', `objective ${r.objective}: ${r.why}`)
  if (r.alternatives.length) lines.push('alternatives:', ...r.alternatives.map((a) => `  #${a.rank} (${a.label}) ${a.fits ? '' : 'DOES NOT FIT '}${a.why}`))
  if (r.suggestions.length) lines.push('', 'would help:', ...r.suggestions.slice(0, 6).map((s) => `  ${s.text}  (${s.flags})`))
  lines.push('', ...r.exports.commands, ...r.exports.notes.map((n) => `# note: ${n}`))
  return lines.join('\n')
}

/** `hearth plan --check PID`: planned against used, with the difference. */
export function checkText(c: PlanCheck): string {
  const head = `pid ${c.pid} ${c.kind}${c.modelPath ? `: ${c.modelPath}` : ''}${c.card ? ` on GPU ${c.gpuIndex} ${c.card}` : ''}`
  if (c.error) return [head, `  cannot check: ${c.error}`, ...c.notes.map((n) => `  note: ${n}`)].join('\n')
  const p = c.plan!
  const pct = c.diffMiB !== null && c.plannedMiB ? ` (${c.diffMiB >= 0 ? '+' : ''}${((c.diffMiB / c.plannedMiB) * 100).toFixed(2)}%)` : ''
  return [
    head,
    `  planned ${f(c.plannedMiB ?? 0)} = weights ${f(p.vram.weightsMiB)} + KV ${f(p.vram.kvMiB)} + compute ${f(p.vram.computeMiB)} + CUDA ${f(p.vram.overheadMiB)}  (-ngl ${p.ngl}/${p.nglAll} -c ${p.ctx} -np ${p.options.parallel} KV ${p.options.cacheTypeK}/${p.options.cacheTypeV} fa ${p.options.flashAttn ? 'on' : 'off'} -ub ${p.options.ubatch})`,
    `  used    ${c.usedMiB === null ? 'unknown (the GPU source gives no per-process figure)' : f(c.usedMiB)}`,
    `  difference ${c.diffMiB === null ? 'unknown' : `${c.diffMiB >= 0 ? '+' : ''}${Math.round(c.diffMiB)} MiB${pct}`} (used − planned)`,
    ...c.notes.map((n) => `  note: ${n}`),
  ].join('\n')
}

export const planCommand: CliCommand = {
  name: 'plan',
  summary: 'VRAM/RAM llama-servers need; -ngl chosen jointly; --check PID against a running one',
  usage,
  async run(argv, io) {
    const args = parsePlanArgs(argv)
    const backend = await io.backend()
    if (args.checkPid !== undefined) {
      const c = await backend.planCheck({ pid: args.checkPid })
      // --json: the object on stdout either way (its `error` says why); text: a failure on stderr
      if (args.json) io.out(JSON.stringify(c, null, 2))
      else if (c.error) io.err(checkText(c))
      else io.out(checkText(c))
      return c.error ? 1 : 0
    }
    const gpus = args.gpusMiB?.map((mib) => ({ name: `${mib} MiB card`, totalMiB: mib }))
    const r = await backend.plan({ models: args.models, ...(gpus ? { gpus } : { vramMiB: args.vramMiB }), marginMiB: args.marginMiB, objective: args.objective })
    io.out(args.json ? JSON.stringify(planJson(r), null, 2) : planText(r))
    return r.fits ? 0 : 3
  },
}
