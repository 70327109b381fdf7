// `hearth plan`: VRAM/RAM per model at the given llama-server flags, repeatable for several models
// (each model's flags follow it), with the largest -ngl that fits when asked for `--ngl max`.
import { kvCacheTypes, type KvCacheType, type PlanResult } from '../../shared/planner'
import type { planModelInput } from '../../shared/contract/planner'
import type { z } from 'zod'
import { UsageError, type CliCommand } from './command'

type ModelArgs = z.input<typeof planModelInput>

export interface PlanArgs {
  models: ModelArgs[]
  vramMiB?: number
  marginMiB?: number
  json: boolean
}

const usage =
  'hearth plan GGUF_OR_MODEL [--ctx N] [--ngl N|max] [--parallel N] [--kv-unified] [--cache-type-k T] [--cache-type-v T] [--flash-attn on|off] [--ubatch N] [--cpu-moe] [GGUF_OR_MODEL …] [--vram-mib N] [--margin-mib N] [--json]'

function int(flag: string, v: string | undefined, min: number): number {
  const n = Number(v)
  if (v === undefined || !/^\d+$/.test(v) || n < min) throw new UsageError(`${flag} needs a whole number ≥ ${min} (got ${v === undefined ? 'nothing' : JSON.stringify(v)}), e.g. ${flag} ${Math.max(min, flag === '--ctx' ? 8192 : 1)}`)
  return n
}

function kvType(flag: string, v: string | undefined): KvCacheType {
  if (!v || !(kvCacheTypes as readonly string[]).includes(v)) throw new UsageError(`${flag} takes one of ${kvCacheTypes.join(', ')} (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`)
  return v as KvCacheType
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
      case '--vram-mib': out.vramMiB = int(flag, val(), 1); break
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
  return out
}

/** The --json shape the issue fixes. */
export function planJson(r: PlanResult) {
  return {
    models: r.models.map((m) => ({ path: m.path, ngl: m.ngl, vram: m.vram, host: m.host })),
    vramTotalMiB: r.vramTotalMiB,
    fits: r.fits,
    marginMiB: r.marginMiB,
  }
}

const f = (mib: number) => (mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${Math.round(mib)} MiB`)

export function planText(r: PlanResult): string {
  const lines = [`${r.gpuName}: ${f(r.vramTotalMiB)}`]
  for (const m of r.models) {
    lines.push(
      '',
      `${m.name}  (${m.path})`,
      `  -ngl ${m.ngl}/${m.nglAll}  -c ${m.ctx}${m.options.parallel > 1 ? ` (${m.ctxPerSlot} per slot × ${m.options.parallel})` : ''}  KV ${m.options.cacheTypeK}/${m.options.cacheTypeV}  fa ${m.options.flashAttn ? 'on' : 'off'}`,
      `  VRAM ${f(m.vram.totalMiB)} = weights ${f(m.vram.weightsMiB)} + KV ${f(m.vram.kvMiB)} + compute ${f(m.vram.computeMiB)} + CUDA ${f(m.vram.overheadMiB)}`,
      `  RAM  ${f(m.host.totalMiB)} = weights ${f(m.host.weightsMiB)} (page cache) + KV ${f(m.host.kvMiB)} + other ${f(m.host.otherMiB)}`,
      ...m.warnings.map((w) => `  ! ${w}`),
    )
  }
  lines.push('', `${r.fits ? 'FITS' : 'DOES NOT FIT'}: ${f(r.vramUsedMiB)} of ${f(r.vramTotalMiB)}, ${r.marginMiB >= 0 ? `${f(r.marginMiB)} free` : `${f(-r.marginMiB)} short`} (keeping ${f(r.requiredMarginMiB)} spare)`)
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
    const r = await backend.plan({ models: args.models, vramMiB: args.vramMiB, marginMiB: args.marginMiB })
    io.out(args.json ? JSON.stringify(planJson(r), null, 2) : planText(r))
    return r.fits ? 0 : 3
  },
}
