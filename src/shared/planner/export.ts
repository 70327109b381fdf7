// Copyable exports of a plan: llama-server lines, a compose file with env, Ollama parameters.
import type { ModelPlan, PlanExports } from './types'

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

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
export function serverArgs(p: ModelPlan, port: number): string[] {
  const o = p.options
  const a = ['-m', p.path, '-ngl', String(p.ngl), '-c', String(p.ctx), '-np', String(o.parallel), '-fa', o.flashAttn ? 'on' : 'off', '-ub', String(o.ubatch)]
  if (o.ubatch > 2048) a.push('-b', String(o.ubatch))
  if (o.cacheTypeK !== 'f16') a.push('-ctk', o.cacheTypeK)
  if (o.cacheTypeV !== 'f16') a.push('-ctv', o.cacheTypeV)
  if (o.kvUnified) a.push('-kvu')
  if (o.cpuMoe) a.push('--cpu-moe')
  else if (o.nCpuMoe > 0) a.push('--n-cpu-moe', String(o.nCpuMoe))
  if (o.noMmap) a.push('--no-mmap')
  if (o.noKvOffload) a.push('-nkvo')
  const ratios = gpuPlacement(p)?.ratios
  if (ratios) a.push('-sm', 'layer', '-ts', ratios.join(','))
  a.push('-cram', String(o.cacheRamMiB), '--port', String(port))
  return a
}

function envOf(p: ModelPlan, port: number): Record<string, string> {
  const o = p.options
  const env: Record<string, string> = {
    LLAMA_ARG_MODEL: p.path,
    LLAMA_ARG_N_GPU_LAYERS: String(p.ngl),
    LLAMA_ARG_CTX_SIZE: String(p.ctx),
    LLAMA_ARG_N_PARALLEL: String(o.parallel),
    LLAMA_ARG_FLASH_ATTN: o.flashAttn ? 'on' : 'off',
    LLAMA_ARG_UBATCH: String(o.ubatch),
    LLAMA_ARG_CACHE_TYPE_K: o.cacheTypeK,
    LLAMA_ARG_CACHE_TYPE_V: o.cacheTypeV,
    LLAMA_ARG_PORT: String(port),
  }
  if (o.kvUnified) env.LLAMA_ARG_KV_UNIFIED = '1'
  if (o.cpuMoe) env.LLAMA_ARG_CPU_MOE = '1'
  else if (o.nCpuMoe > 0) env.LLAMA_ARG_N_CPU_MOE = String(o.nCpuMoe)
  if (o.noMmap) env.LLAMA_ARG_NO_MMAP = '1'
  if (o.noKvOffload) env.LLAMA_ARG_NO_KV_OFFLOAD = '1'
  const ratios = gpuPlacement(p)?.ratios
  if (ratios) {
    env.LLAMA_ARG_SPLIT_MODE = 'layer'
    env.LLAMA_ARG_TENSOR_SPLIT = ratios.join(',')
  }
  return env
}

const serviceName = (p: ModelPlan, i: number) =>
  (p.path.split('/').pop() ?? `model${i}`).replace(/\.gguf$/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `model${i}`

export function planExports(plans: ModelPlan[], firstPort = 8080): PlanExports {
  const commands = plans.map((p, i) => [...Object.entries(placementEnv(p)).map(([k, v]) => `${k}=${v}`), ...['llama-server', ...serverArgs(p, firstPort + i)].map(q)].join(' '))
  const compose = ['services:']
  const env: string[] = []
  plans.forEach((p, i) => {
    const name = serviceName(p, i)
    const port = firstPort + i
    const dir = p.path.slice(0, p.path.lastIndexOf('/')) || '/'
    const g = gpuPlacement(p)
    // Docker hands the container only the listed cards, renumbered from 0, so -ts applies as is.
    const devices = g ? `device_ids: [${g.visible.map((d) => `"${d}"`).join(', ')}]` : 'count: all'
    compose.push(
      `  ${name}:`,
      '    image: ghcr.io/ggml-org/llama.cpp:server-cuda',
      `    ports: ["${port}:${port}"]`,
      `    volumes: ["${dir}:${dir}:ro"]`,
      '    environment:',
      ...Object.entries(envOf(p, port)).map(([k, v]) => `      ${k}: "${v}"`),
      `    deploy: { resources: { reservations: { devices: [{ driver: nvidia, ${devices}, capabilities: [gpu] }] } } }`,
    )
    env.push(`# ${name}`, ...Object.entries({ ...placementEnv(p), ...envOf(p, port) }).map(([k, v]) => `${k}=${q(v)}`))
  })
  // Ollama's num_gpu counts layers as llama.cpp's -ngl does; num_ctx is per request (one slot).
  // Ollama picks cards for the whole server, not per model: say which ones to let it see.
  const ollama = plans.map((p) => {
    const g = gpuPlacement(p)
    const pin = g ? `# start ollama with CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=${g.visible.join(',')}\n` : ''
    return `${pin}PARAMETER num_gpu ${p.ngl}\nPARAMETER num_ctx ${p.ctxPerSlot}`
  })
  return { commands, compose: compose.join('\n') + '\n', env: env.join('\n') + '\n', ollama }
}
