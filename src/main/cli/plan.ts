// `hearth plan`: VRAM/RAM per model at the given llama-server flags, repeatable for several models
// (each model's flags follow it), with the largest -ngl that fits when asked for `--ngl max`.
import { kvCacheTypes, type KvCacheType, type PlanResult } from '../../shared/planner'
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
  json: boolean
}

const usage =
  'hearth plan GGUF_OR_MODEL [--ctx N] [--ngl N|max] [--parallel N] [--kv-unified] [--cache-type-k T] [--cache-type-v T] [--flash-attn on|off] [--ubatch N] [--cpu-moe] [--device N] [--tensor-split a,b,…] [GGUF_OR_MODEL …] [--vram-mib A[,B…]] [--margin-mib N] [--json]'

function int(flag: string, v: string | undefined, min: number): number {
  const n = Number(v)
  if (v === undefined || !/^\d+$/.test(v) || n < min) throw new UsageError(`${flag} needs a whole number ≥ ${min} (got ${v === undefined ? 'nothing' : JSON.stringify(v)}), e.g. ${flag} ${Math.max(min, flag === '--ctx' ? 8192 : 1)}`)
  return n
}

function kvType(flag: string, v: string | undefined): KvCacheType {
  if (!v || !(kvCacheTypes as readonly string[]).includes(v)) throw new UsageError(`${flag} takes one of ${kvCacheTypes.join(', ')} (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`)
  return v as KvCacheType
}

/** -ts 3,1 (llama-server also takes 3/1). */
function ratios(flag: string, v: string | undefined): number[] {
  const parts = v?.split(/[,/]/) ?? []
  if (!v || parts.some((x) => !/^\d+(\.\d+)?$/.test(x.trim())) || !parts.some((x) => Number(x) > 0))
    throw new UsageError(`${flag} takes ratios ≥ 0 per card, comma-separated, at least one above 0 (got ${v === undefined ? 'nothing' : JSON.stringify(v)}), e.g. ${flag} 1,1 to halve the layers over two cards`)
  return parts.map(Number)
}

/** --device 1 or llama-server's own name for it, CUDA1. */
function deviceIndex(flag: string, v: string | undefined): number {
  const m = /^(?:CUDA)?(\d+)$/i.exec(v ?? '')
  if (!m) throw new UsageError(`${flag} takes a card index as --vram-mib lists them, 0 for the first (got ${v === undefined ? 'nothing' : JSON.stringify(v)}), e.g. ${flag} 1; to spread a model over several cards use --tensor-split 1,1`)
  return Number(m[1])
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
      case '--json': out.json = true; break
      case '--vram-mib': {
        const v = val()
        const list = (v ?? '').split(',')
        const mibs = list.map((x) => int(flag, x.trim(), 1))
        if (mibs.length === 1) out.vramMiB = mibs[0]
        else out.gpusMiB = mibs
        break
      }
      case '-dev': case '--device': need(flag).device = deviceIndex('--device', val()); break
      case '-ts': case '--tensor-split': need(flag).tensorSplit = ratios('--tensor-split', val()); break
      case '--margin-mib': out.marginMiB = int(flag, val(), 0); break
      case '-c': case '--ctx': case '--ctx-size': need(flag).ctx = int('--ctx', val(), 0); break
      case '-ngl': case '--ngl': case '--gpu-layers': case '--n-gpu-layers': {
        const v = val()
        need(flag).ngl = v === 'max' || v === 'auto' ? 'max' : v === 'all' ? 9999 : int('--ngl', v, 0)
        break
      }
      case '-np': case '--parallel': need(flag).parallel = int('--parallel', val(), 1); break
      case '-kvu': case '--kv-unified': need(flag).kvUnified = true; break
      case '-ctk': case '--cache-type-k': need(flag).cacheTypeK = kvType('--cache-type-k', val()); break
      case '-ctv': case '--cache-type-v': need(flag).cacheTypeV = kvType('--cache-type-v', val()); break
      case '-fa': case '--flash-attn': {
        const v = val()
        if (v !== 'on' && v !== 'off') throw new UsageError(`--flash-attn takes on or off (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`)
        need(flag).flashAttn = v === 'on'
        break
      }
      case '-ub': case '--ubatch': case '--ubatch-size': need(flag).ubatch = int('--ubatch', val(), 1); break
      case '-cmoe': case '--cpu-moe': need(flag).cpuMoe = true; break
      case '-ncmoe': case '--n-cpu-moe': need(flag).nCpuMoe = int('--n-cpu-moe', val(), 0); break
      case '--no-mmap': need(flag).noMmap = true; break
      case '-nkvo': case '--no-kv-offload': need(flag).noKvOffload = true; break
      case '-cram': case '--cache-ram': need(flag).cacheRamMiB = int('--cache-ram', val(), 0); break
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}; see the usage below (flags are named as llama-server names them)`)
        cur = { target: a }
        out.models.push(cur)
    }
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
 * The --json shape the issue fixes, exactly, for one card. Several cards add `gpus` and each
 * model's `vramByGpu` (vramTotalMiB is then their sum and marginMiB the tightest card's).
 */
export function planJson(r: PlanResult) {
  const multi = r.gpus.length > 1
  return {
    models: r.models.map((m) => ({ path: m.path, ngl: m.ngl, vram: m.vram, host: m.host, ...(multi ? { vramByGpu: m.vramByGpu } : {}) })),
    vramTotalMiB: r.vramTotalMiB,
    fits: r.fits,
    marginMiB: r.marginMiB,
    ...(multi ? { gpus: r.gpus.map((g) => ({ index: g.index, name: g.name, vramTotalMiB: g.vramTotalMiB, usedMiB: g.usedMiB, marginMiB: g.marginMiB, fits: g.fits })), note: r.multiGpuNote } : {}),
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
      ...m.warnings.map((w) => `  ! ${w}`),
    )
  }
  const verdict = (fits: boolean, used: number, total: number, margin: number) =>
    `${fits ? 'FITS' : 'DOES NOT FIT'}: ${f(used)} of ${f(total)}, ${margin >= 0 ? `${f(margin)} free` : `${f(-margin)} short`} (keeping ${f(r.requiredMarginMiB)} spare)`
  if (multi) {
    lines.push('', ...r.gpus.map((g) => `GPU ${g.index} ${verdict(g.fits, g.usedMiB, g.vramTotalMiB, g.marginMiB)}`))
    lines.push(`${r.fits ? 'FITS on every card' : 'DOES NOT FIT on every card'}`, `note: ${r.multiGpuNote}`)
  } else lines.push('', verdict(r.fits, r.vramUsedMiB, r.vramTotalMiB, r.marginMiB))
  if (r.suggestions.length) lines.push('', 'would help:', ...r.suggestions.slice(0, 6).map((s) => `  ${s.text}  (${s.flags})`))
  lines.push('', ...r.exports.commands)
  return lines.join('\n')
}

export const planCommand: CliCommand = {
  name: 'plan',
  summary: 'VRAM/RAM a llama-server needs; the largest -ngl that fits',
  usage,
  async run(argv, io) {
    const args = parsePlanArgs(argv)
    const backend = await io.backend()
    const gpus = args.gpusMiB?.map((mib) => ({ name: `${mib} MiB card`, totalMiB: mib }))
    const r = await backend.plan({ models: args.models, ...(gpus ? { gpus } : { vramMiB: args.vramMiB }), marginMiB: args.marginMiB })
    io.out(args.json ? JSON.stringify(planJson(r), null, 2) : planText(r))
    return r.fits ? 0 : 3
  },
}
