// Copyable exports of a plan: llama-server lines, a compose file with env, Ollama parameters.
// Flags that only newer llama.cpp releases accept are emitted when the user's llama-server says
// it takes them (its --help), left out with a note when it does not, and kept with a note when
// Hearth found no llama-server to ask.
import type { ModelPlan, PlanExports } from './types'

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** What the user's llama-server accepts, from `llama-server --version` and `--help`. */
export interface LlamaCapabilities {
  /** The binary asked */
  path: string
  /** Its version line ("version: 6715 (a1b2c3d)") */
  version: string
  /** The build number in it, when there is one */
  build?: number
  /** Every flag its --help lists, short and long */
  flags: string[]
  /** `-fa on|off|auto` (newer) rather than a bare `-fa` switch (older) */
  faTakesValue: boolean
}

/** Flags that older llama-server builds refuse ("error: invalid argument"), with when they came. */
export const versionGatedFlags: Record<string, { names: string[]; since: string }> = {
  '-cram': { names: ['-cram', '--cache-ram'], since: 'October 2025 (llama.cpp PR #16391)' },
  '-kvu': { names: ['-kvu', '--kv-unified'], since: 'mid-2025' },
  '--cpu-moe': { names: ['-cmoe', '--cpu-moe'], since: 'August 2025' },
  '--n-cpu-moe': { names: ['-ncmoe', '--n-cpu-moe'], since: 'August 2025' },
  '-ctkd': { names: ['-ctkd', '--cache-type-k-draft', '--spec-draft-type-k'], since: 'mid-2025' },
  '-ctvd': { names: ['-ctvd', '--cache-type-v-draft', '--spec-draft-type-v'], since: 'mid-2025' },
  '--no-mmproj-offload': { names: ['--no-mmproj-offload', '--mmproj-offload'], since: 'May 2025 (libmtmd in llama-server)' },
  '--mmproj': { names: ['-mm', '--mmproj'], since: 'May 2025 (libmtmd in llama-server)' },
  // Older releases size the draft's context separately; newer ones give it the main -c.
  '-cd': { names: ['-cd', '--ctx-size-draft'], since: 'releases before the speculative rework of 2026 only' },
}

/** Emits or drops version-gated flags and collects the notes, once per flag. */
class FlagGate {
  readonly notes: string[] = []
  private said = new Set<string>()
  constructor(private llama?: LlamaCapabilities) {}

  accepts(key: string): boolean {
    const g = versionGatedFlags[key]
    if (!this.llama) {
      this.note(key, `${key} is accepted only by llama-server from ${g.since}; Hearth found no llama-server to ask (put it on PATH), so it is kept: drop it for an older build`)
      return true
    }
    const ok = g.names.some((n) => this.llama!.flags.includes(n))
    if (!ok) this.note(key, `${key} left out: your llama-server (${this.llama.version}, ${this.llama.path}) does not accept it (it came ${g.since})`)
    return ok
  }

  /** `-fa on|off` on newer builds; older ones take a bare `-fa` (on) and nothing for off. */
  flashAttn(on: boolean): string[] {
    if (!this.llama || this.llama.faTakesValue) {
      if (!this.llama) this.note('-fa', '-fa on|off is the syntax of llama-server from late 2025; older builds take a bare -fa (on) and nothing for off')
      return ['-fa', on ? 'on' : 'off']
    }
    this.note('-fa', `your llama-server (${this.llama.version}) takes a bare -fa switch: written as such`)
    return on ? ['-fa'] : []
  }

  private note(key: string, text: string) {
    if (this.said.has(key)) return
    this.said.add(key)
    this.notes.push(text)
  }
}

/**
 * The cards a model's process may see, as nvidia-smi numbers them, and the -ts ratios over them
 * (null: the plan had one card, so nothing to pin). Listing only the cards with a share in
 * CUDA_VISIBLE_DEVICES keeps the process off the others, so it pays no context there either;
 * CUDA_DEVICE_ORDER=PCI_BUS_ID makes CUDA number the cards as nvidia-smi and Docker do.
 */
export function gpuPlacement(p: ModelPlan): { visible: number[]; ratios: number[] | null } | null {
  const s = p.options.split
  if (!s || s.length < 2) return null
  const visible = s.flatMap((x, i) => (x > 0 ? [i] : []))
  return { visible, ratios: visible.length > 1 ? visible.map((i) => s[i]) : null }
}

function placementEnv(p: ModelPlan): Record<string, string> {
  const g = gpuPlacement(p)
  return g ? { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: g.visible.join(',') } : {}
}

/** llama-server's flags for a plan, as the planner assumed them. */
export function serverArgs(p: ModelPlan, port: number, gate = new FlagGate()): string[] {
  const o = p.options
  const a = ['-m', p.path, '-ngl', String(p.ngl), '-c', String(p.ctx), '-np', String(o.parallel), ...gate.flashAttn(o.flashAttn), '-ub', String(o.ubatch)]
  if (o.ubatch > 2048) a.push('-b', String(o.ubatch))
  if (o.cacheTypeK !== 'f16') a.push('-ctk', o.cacheTypeK)
  if (o.cacheTypeV !== 'f16') a.push('-ctv', o.cacheTypeV)
  if (o.kvUnified && gate.accepts('-kvu')) a.push('-kvu')
  if (o.cpuMoe && gate.accepts('--cpu-moe')) a.push('--cpu-moe')
  else if (!o.cpuMoe && o.nCpuMoe > 0 && gate.accepts('--n-cpu-moe')) a.push('--n-cpu-moe', String(o.nCpuMoe))
  if (o.noMmap) a.push('--no-mmap')
  if (o.noKvOffload) a.push('-nkvo')
  const ratios = gpuPlacement(p)?.ratios
  if (ratios) a.push('-sm', 'layer', '-ts', ratios.join(','))
  if (p.projector && gate.accepts('--mmproj')) {
    a.push('--mmproj', p.projector.path)
    if (!p.projector.onGpu && gate.accepts('--no-mmproj-offload')) a.push('--no-mmproj-offload')
  }
  if (p.draft) {
    a.push('-md', p.draft.path, '-ngld', String(p.draft.ngl))
    if (p.draft.ctx !== p.ctx && gate.accepts('-cd')) a.push('-cd', String(p.draft.ctx))
    const d = o.draft
    if (d && d.cacheTypeK !== 'f16' && gate.accepts('-ctkd')) a.push('-ctkd', d.cacheTypeK)
    if (d && d.cacheTypeV !== 'f16' && gate.accepts('-ctvd')) a.push('-ctvd', d.cacheTypeV)
  }
  // The plan counts -cram in host RAM; newer builds default to an 8 GiB prompt cache.
  if (gate.accepts('-cram')) a.push('-cram', String(o.cacheRamMiB))
  a.push('--port', String(port))
  return a
}

function envOf(p: ModelPlan, port: number, gate: FlagGate, llama?: LlamaCapabilities): Record<string, string> {
  const o = p.options
  const env: Record<string, string> = {
    LLAMA_ARG_MODEL: p.path,
    LLAMA_ARG_N_GPU_LAYERS: String(p.ngl),
    LLAMA_ARG_CTX_SIZE: String(p.ctx),
    LLAMA_ARG_N_PARALLEL: String(o.parallel),
    LLAMA_ARG_FLASH_ATTN: !llama || llama.faTakesValue ? (o.flashAttn ? 'on' : 'off') : o.flashAttn ? '1' : '0',
    LLAMA_ARG_UBATCH: String(o.ubatch),
    LLAMA_ARG_CACHE_TYPE_K: o.cacheTypeK,
    LLAMA_ARG_CACHE_TYPE_V: o.cacheTypeV,
    LLAMA_ARG_PORT: String(port),
  }
  if (o.kvUnified && gate.accepts('-kvu')) env.LLAMA_ARG_KV_UNIFIED = '1'
  if (o.cpuMoe && gate.accepts('--cpu-moe')) env.LLAMA_ARG_CPU_MOE = '1'
  else if (!o.cpuMoe && o.nCpuMoe > 0 && gate.accepts('--n-cpu-moe')) env.LLAMA_ARG_N_CPU_MOE = String(o.nCpuMoe)
  if (o.noMmap) env.LLAMA_ARG_NO_MMAP = '1'
  if (o.noKvOffload) env.LLAMA_ARG_NO_KV_OFFLOAD = '1'
  const ratios = gpuPlacement(p)?.ratios
  if (ratios) {
    env.LLAMA_ARG_SPLIT_MODE = 'layer'
    env.LLAMA_ARG_TENSOR_SPLIT = ratios.join(',')
  }
  if (p.projector && gate.accepts('--mmproj')) {
    env.LLAMA_ARG_MMPROJ = p.projector.path
    if (!p.projector.onGpu && gate.accepts('--no-mmproj-offload')) env.LLAMA_ARG_MMPROJ_OFFLOAD = '0'
  }
  if (p.draft) {
    // The draft's variable was renamed with the speculative options (LLAMA_ARG_MODEL_DRAFT before).
    const renamed = llama?.flags.includes('--spec-draft-model')
    if (renamed !== false) env.LLAMA_ARG_SPEC_DRAFT_MODEL = p.draft.path
    if (renamed !== true) env.LLAMA_ARG_MODEL_DRAFT = p.draft.path
    env.LLAMA_ARG_N_GPU_LAYERS_DRAFT = String(p.draft.ngl)
    if (p.draft.ctx !== p.ctx && gate.accepts('-cd')) env.LLAMA_ARG_CTX_SIZE_DRAFT = String(p.draft.ctx)
  }
  if (gate.accepts('-cram')) env.LLAMA_ARG_CACHE_RAM = String(o.cacheRamMiB)
  return env
}

const serviceName = (p: ModelPlan, i: number) =>
  (p.path.split('/').pop() ?? `model${i}`).replace(/\.gguf$/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `model${i}`

const yamlString = (v: string) => JSON.stringify(v)

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/'

/**
 * Ollama's Modelfile: num_gpu counts layers as -ngl does; num_ctx is per request (one slot). A
 * projector is a second FROM line; Ollama has no draft model (no speculative decoding): said so.
 */
function ollamaOf(p: ModelPlan): string {
  const g = gpuPlacement(p)
  const lines: string[] = []
  // A Modelfile is lines: a path with a line break (or another control character) would write
  // instructions of its own. It is named, not written.
  const from = (path: string) => (/[\x00-\x1f\x7f]/.test(path) ? `# cannot name ${JSON.stringify(path)} in a Modelfile (it holds a line break or another control character): rename the file` : `FROM ${path}`)
  // Ollama picks cards for the whole server, not per model: say which ones to let it see.
  if (g) lines.push(`# start ollama with CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=${g.visible.join(',')}`)
  if (p.projector || p.draft) lines.push(from(p.path))
  if (p.projector) lines.push(from(p.projector.path))
  if (p.draft) lines.push(`# no draft model: Ollama does not do speculative decoding (${p.draft.name} is left out)`)
  lines.push(`PARAMETER num_gpu ${p.ngl}`, `PARAMETER num_ctx ${p.ctxPerSlot}`)
  return lines.join('\n')
}

export function planExports(plans: ModelPlan[], opts: { firstPort?: number; llama?: LlamaCapabilities } = {}): PlanExports {
  const firstPort = opts.firstPort ?? 8080
  const gate = new FlagGate(opts.llama)
  const commands = plans.map((p, i) => [...Object.entries(placementEnv(p)).map(([k, v]) => `${k}=${v}`), ...['llama-server', ...serverArgs(p, firstPort + i, gate)].map(q)].join(' '))
  const compose = ['services:']
  const env: string[] = []
  plans.forEach((p, i) => {
    const name = serviceName(p, i)
    const port = firstPort + i
    const dirs = [...new Set([p.path, p.projector?.path, p.draft?.path].filter((x): x is string => !!x).map(dirOf))]
    const g = gpuPlacement(p)
    // Docker hands the container only the listed cards, renumbered from 0, so -ts applies as is.
    const devices = g ? `device_ids: [${g.visible.map((d) => `"${d}"`).join(', ')}]` : 'count: all'
    compose.push(
      `  ${name}:`,
      '    image: ghcr.io/ggml-org/llama.cpp:server-cuda',
      `    ports: ["${port}:${port}"]`,
      // Every value a path can reach is a JSON string (a valid YAML double-quoted scalar): a
      // model named `x"\n    privileged: true` stays a name. Binds in the long form, as the
      // short "a:b:ro" cannot hold a path with a colon.
      `    volumes: [${dirs.map((d) => `{ type: bind, source: ${yamlString(d)}, target: ${yamlString(d)}, read_only: true }`).join(', ')}]`,
      '    environment:',
      ...Object.entries(envOf(p, port, gate, opts.llama)).map(([k, v]) => `      ${k}: ${yamlString(v)}`),
      `    deploy: { resources: { reservations: { devices: [{ driver: nvidia, ${devices}, capabilities: [gpu] }] } } }`,
    )
    env.push(`# ${name}`, ...Object.entries({ ...placementEnv(p), ...envOf(p, port, gate, opts.llama) }).map(([k, v]) => `${k}=${q(v)}`))
  })
  return { commands, notes: gate.notes, compose: compose.join('\n') + '\n', env: env.join('\n') + '\n', ollama: plans.map(ollamaOf) }
}
