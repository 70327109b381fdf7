// Copyable exports of a plan: llama-server lines, a compose file with env, Ollama parameters.
import type { ModelPlan, PlanExports } from './types'

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

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
  return env
}

const serviceName = (p: ModelPlan, i: number) =>
  (p.path.split('/').pop() ?? `model${i}`).replace(/\.gguf$/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `model${i}`

export function planExports(plans: ModelPlan[], firstPort = 8080): PlanExports {
  const commands = plans.map((p, i) => ['llama-server', ...serverArgs(p, firstPort + i)].map(q).join(' '))
  const compose = ['services:']
  const env: string[] = []
  plans.forEach((p, i) => {
    const name = serviceName(p, i)
    const port = firstPort + i
    const dir = p.path.slice(0, p.path.lastIndexOf('/')) || '/'
    compose.push(
      `  ${name}:`,
      '    image: ghcr.io/ggml-org/llama.cpp:server-cuda',
      `    ports: ["${port}:${port}"]`,
      `    volumes: ["${dir}:${dir}:ro"]`,
      '    environment:',
      ...Object.entries(envOf(p, port)).map(([k, v]) => `      ${k}: "${v}"`),
      '    deploy: { resources: { reservations: { devices: [{ driver: nvidia, count: all, capabilities: [gpu] }] } } }',
    )
    env.push(`# ${name}`, ...Object.entries(envOf(p, port)).map(([k, v]) => `${k}=${q(v)}`))
  })
  // Ollama's num_gpu counts layers as llama.cpp's -ngl does; num_ctx is per request (one slot).
  const ollama = plans.map((p) => `PARAMETER num_gpu ${p.ngl}\nPARAMETER num_ctx ${p.ctxPerSlot}`)
  return { commands, compose: compose.join('\n') + '\n', env: env.join('\n') + '\n', ollama }
}
