// llama-server's flags that change memory, one table for both readers of them: `hearth plan`
// (strict: a bad value is an error naming the flag and the fix) and the command line of a
// running server read from /proc (lenient: flags the planner does not model are skipped).
import { kvCacheTypes, type KvCacheType } from './types'

/** A model's flags as the planner takes them (the contract's plan input for one model). */
export interface ServerModelArgs {
  target: string
  ctx?: number
  ngl?: number | 'max'
  parallel?: number
  kvUnified?: boolean
  cacheTypeK?: KvCacheType
  cacheTypeV?: KvCacheType
  flashAttn?: boolean
  ubatch?: number
  cpuMoe?: boolean
  nCpuMoe?: number
  noMmap?: boolean
  noKvOffload?: boolean
  cacheRamMiB?: number
  device?: number
  tensorSplit?: number[]
  /** A projector path, or 'auto' = the mmproj file beside the model (or paired by the catalog) */
  mmproj?: string
  noMmprojOffload?: boolean
  draft?: { target: string; ngl?: number; ctx?: number; cacheTypeK?: KvCacheType; cacheTypeV?: KvCacheType }
}

const shown = (v: string | undefined) => (v === undefined ? 'nothing' : JSON.stringify(v))

export function intValue(flag: string, v: string | undefined, min: number): number {
  const n = Number(v)
  if (v === undefined || !/^\d+$/.test(v) || n < min) throw new Error(`${flag} needs a whole number ≥ ${min} (got ${shown(v)}), e.g. ${flag} ${Math.max(min, flag === '--ctx' ? 8192 : 1)}`)
  return n
}

export function kvTypeValue(flag: string, v: string | undefined): KvCacheType {
  if (!v || !(kvCacheTypes as readonly string[]).includes(v)) throw new Error(`${flag} takes one of ${kvCacheTypes.join(', ')} (got ${shown(v)})`)
  return v as KvCacheType
}

/** -ts 3,1 (llama-server also takes 3/1). */
export function ratiosValue(flag: string, v: string | undefined): number[] {
  const parts = v?.split(/[,/]/) ?? []
  if (!v || parts.some((x) => !/^\d+(\.\d+)?$/.test(x.trim())) || !parts.some((x) => Number(x) > 0))
    throw new Error(`${flag} takes ratios ≥ 0 per card, comma-separated, at least one above 0 (got ${shown(v)}), e.g. ${flag} 1,1 to halve the layers over two cards`)
  return parts.map(Number)
}

/** --device 1 or llama-server's own name for it, CUDA1. */
export function deviceValue(flag: string, v: string | undefined): number {
  const m = /^(?:CUDA)?(\d+)$/i.exec(v ?? '')
  if (!m) throw new Error(`${flag} takes a card index as --vram-mib lists them, 0 for the first (got ${shown(v)}), e.g. ${flag} 1; to spread a model over several cards use --tensor-split 1,1`)
  return Number(m[1])
}

/** -ngl N, or llama-server's words: auto (the solver's choice here), all. */
function nglValue(flag: string, v: string | undefined): number | 'max' {
  if (v === 'max' || v === 'auto') return 'max'
  if (v === 'all') return 9999
  return intValue(flag, v, 0)
}

function onOff(flag: string, v: string | undefined): boolean {
  if (v !== 'on' && v !== 'off') throw new Error(`${flag} takes on or off (got ${shown(v)})`)
  return v === 'on'
}

type Draft = NonNullable<ServerModelArgs['draft']>
const draftOf = (m: ServerModelArgs, flag: string): Draft => {
  if (!m.draft) throw new Error(`${flag} needs a draft model first: -md DRAFT.gguf ${flag} …`)
  return m.draft
}

export interface ServerFlag {
  names: string[]
  /** Takes the next argument (or =value) */
  value: boolean
  apply(m: ServerModelArgs, v: string | undefined): void
}

/** Every flag here is llama-server's own name for it (short and long forms). */
export const serverFlags: ServerFlag[] = [
  { names: ['-c', '--ctx', '--ctx-size'], value: true, apply: (m, v) => (m.ctx = intValue('--ctx', v, 0)) },
  { names: ['-ngl', '--ngl', '--gpu-layers', '--n-gpu-layers'], value: true, apply: (m, v) => (m.ngl = nglValue('--ngl', v)) },
  { names: ['-np', '--parallel'], value: true, apply: (m, v) => (m.parallel = intValue('--parallel', v, 1)) },
  { names: ['-kvu', '--kv-unified'], value: false, apply: (m) => (m.kvUnified = true) },
  { names: ['-no-kvu', '--no-kv-unified'], value: false, apply: (m) => (m.kvUnified = false) },
  { names: ['-ctk', '--cache-type-k'], value: true, apply: (m, v) => (m.cacheTypeK = kvTypeValue('--cache-type-k', v)) },
  { names: ['-ctv', '--cache-type-v'], value: true, apply: (m, v) => (m.cacheTypeV = kvTypeValue('--cache-type-v', v)) },
  { names: ['-fa', '--flash-attn'], value: true, apply: (m, v) => (m.flashAttn = onOff('--flash-attn', v)) },
  { names: ['-ub', '--ubatch', '--ubatch-size'], value: true, apply: (m, v) => (m.ubatch = intValue('--ubatch', v, 1)) },
  { names: ['-cmoe', '--cpu-moe'], value: false, apply: (m) => (m.cpuMoe = true) },
  { names: ['-ncmoe', '--n-cpu-moe'], value: true, apply: (m, v) => (m.nCpuMoe = intValue('--n-cpu-moe', v, 0)) },
  { names: ['--no-mmap'], value: false, apply: (m) => (m.noMmap = true) },
  { names: ['-nkvo', '--no-kv-offload'], value: false, apply: (m) => (m.noKvOffload = true) },
  { names: ['-cram', '--cache-ram'], value: true, apply: (m, v) => (m.cacheRamMiB = intValue('--cache-ram', v, 0)) },
  { names: ['-dev', '--device'], value: true, apply: (m, v) => (m.device = deviceValue('--device', v)) },
  { names: ['-ts', '--tensor-split'], value: true, apply: (m, v) => (m.tensorSplit = ratiosValue('--tensor-split', v)) },
  { names: ['-mm', '--mmproj'], value: true, apply: (m, v) => (m.mmproj = pathValue('--mmproj', v)) },
  { names: ['--no-mmproj-offload'], value: false, apply: (m) => (m.noMmprojOffload = true) },
  { names: ['-md', '--model-draft', '--spec-draft-model'], value: true, apply: (m, v) => (m.draft = { ...m.draft, target: pathValue('--model-draft', v) }) },
  { names: ['-ngld', '--gpu-layers-draft', '--n-gpu-layers-draft', '--spec-draft-ngl'], value: true, apply: (m, v) => { const n = nglValue('--gpu-layers-draft', v); draftOf(m, '-ngld').ngl = n === 'max' ? 9999 : n } },
  { names: ['-cd', '--ctx-size-draft'], value: true, apply: (m, v) => (draftOf(m, '-cd').ctx = intValue('--ctx-size-draft', v, 0)) },
  { names: ['-ctkd', '--cache-type-k-draft', '--spec-draft-type-k'], value: true, apply: (m, v) => (draftOf(m, '-ctkd').cacheTypeK = kvTypeValue('--cache-type-k-draft', v)) },
  { names: ['-ctvd', '--cache-type-v-draft', '--spec-draft-type-v'], value: true, apply: (m, v) => (draftOf(m, '-ctvd').cacheTypeV = kvTypeValue('--cache-type-v-draft', v)) },
]

function pathValue(flag: string, v: string | undefined): string {
  if (!v || v.startsWith('-')) throw new Error(`${flag} needs a file (got ${shown(v)}), e.g. ${flag} /models/mmproj-F16.gguf`)
  return v
}

export function serverFlag(name: string): ServerFlag | undefined {
  return serverFlags.find((f) => f.names.includes(name))
}

/** What a running server's command line says, as far as the planner models it. */
export interface ServerCommandLine {
  /** -m / --model (Ollama's runner: --model) */
  model?: string
  args: ServerModelArgs
  /** Flags read but not modelled, or values that could not be read, in plain words */
  notes: string[]
  kind: 'llama-server' | 'ollama-runner' | 'unknown'
}

/** Ollama's runner names a few flags its own way. */
const ollamaNames: Record<string, string> = { '--n-gpu-layers': '-ngl', '--ctx-size': '-c', '--batch-size': '-ub', '--parallel': '-np' }

/**
 * argv of a running llama-server (or Ollama runner) → the plan input for the same configuration.
 * Unknown flags are skipped (their value too, when the next argument is not a flag); an old
 * bare `-fa` means on.
 */
export function parseServerCommandLine(argv: string[]): ServerCommandLine {
  const exe = (argv[0] ?? '').split('/').pop() ?? ''
  const kind = /llama-server/.test(exe) ? 'llama-server' : /ollama/.test(exe) || argv.includes('runner') ? 'ollama-runner' : 'unknown'
  const args: ServerModelArgs = { target: '' }
  const notes: string[] = []
  let model: string | undefined
  const isFlag = (s: string | undefined) => s !== undefined && /^-{1,2}[a-zA-Z]/.test(s)
  for (let i = 1; i < argv.length; i++) {
    const raw = argv[i]
    if (!isFlag(raw)) continue
    const [name0, inline] = raw.startsWith('--') && raw.includes('=') ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)] : [raw, undefined]
    const name = kind === 'ollama-runner' ? (ollamaNames[name0] ?? name0) : name0
    if (name === '-m' || name === '--model') {
      model = inline ?? argv[++i]
      continue
    }
    if (kind === 'ollama-runner' && name === '--flash-attn' && inline === undefined && (isFlag(argv[i + 1]) || argv[i + 1] === undefined)) {
      args.flashAttn = true
      continue
    }
    const f = serverFlag(name)
    if (!f) {
      if (inline === undefined && argv[i + 1] !== undefined && !isFlag(argv[i + 1])) i++
      continue
    }
    let v: string | undefined
    if (f.value) {
      // llama-server before late 2025 took a bare -fa (on).
      if ((name === '-fa' || name === '--flash-attn') && inline === undefined && !['on', 'off', 'auto'].includes(argv[i + 1] ?? '')) {
        args.flashAttn = true
        continue
      }
      v = inline ?? argv[++i]
      if (name === '-fa' || name === '--flash-attn') {
        if (v === 'auto') {
          args.flashAttn = true
          notes.push('-fa auto: planned with flash attention on (what llama.cpp picks on CUDA)')
          continue
        }
      }
    }
    try {
      f.apply(args, v)
    } catch (err) {
      notes.push(`${raw} ${v ?? ''}: ${(err as Error).message}; planned with the default`)
    }
  }
  if (args.ngl === undefined) {
    args.ngl = 9999
    notes.push('no -ngl on the command line: planned with every layer on the GPU (newer llama-server offloads all it can by default)')
  } else if (args.ngl === 'max') {
    args.ngl = 9999
    notes.push('-ngl auto: planned with every layer on the GPU; llama-server may have fitted fewer (its log says)')
  }
  if (!argv.includes('-fit') && !argv.includes('--fit') && kind === 'llama-server')
    notes.push('newer llama-server fits -ngl and -c to free memory unless run with -fit off: if it did, the server log has the values it used')
  return { model, args: { ...args, target: model ?? '' }, notes, kind }
}
