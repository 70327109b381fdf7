// Planned against measured: a running llama-server (or Ollama runner) on a GPU, its command line
// read from /proc/PID/cmdline (and LLAMA_ARG_* from its environment), the same configuration
// planned on the card it runs on, and the difference against what the GPU source says it uses.
// The /proc root and the GPU source are injectable, so tests fake only those two boundaries.
import { readFile, readlink } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type { GpuSample, PlanCheck, Settings } from '../../../shared/api'
import { parseServerCommandLine, type ServerModelArgs } from '../../../shared/planner/server-args'
import type { PlanModelInput } from '../../../shared/planner'
import { planOnGpus, type ModelShape, type ProjectorShape } from '../../../shared/planner'

const MiB = 2 ** 20

export interface PlanCheckDeps {
  /** The GPU sample to take processes and cards from (telemetry's now()) */
  gpuNow(): Promise<GpuSample>
  /** GGUF path → the planner's shape */
  shapeOf(path: string): Promise<ModelShape>
  projectorOf(path: string): Promise<ProjectorShape>
  /** Default /proc */
  procRoot?: string
}

/** llama-server reads LLAMA_ARG_* from its environment when the flag is not on its command line. */
const envFlags: Record<string, string> = {
  LLAMA_ARG_MODEL: '-m', LLAMA_ARG_N_GPU_LAYERS: '-ngl', LLAMA_ARG_CTX_SIZE: '-c', LLAMA_ARG_N_PARALLEL: '-np',
  LLAMA_ARG_FLASH_ATTN: '-fa', LLAMA_ARG_UBATCH: '-ub', LLAMA_ARG_CACHE_TYPE_K: '-ctk', LLAMA_ARG_CACHE_TYPE_V: '-ctv',
  LLAMA_ARG_MMPROJ: '--mmproj', LLAMA_ARG_CACHE_RAM: '-cram', LLAMA_ARG_N_CPU_MOE: '-ncmoe',
}
const envSwitches: Record<string, string> = { LLAMA_ARG_KV_UNIFIED: '-kvu', LLAMA_ARG_CPU_MOE: '--cpu-moe', LLAMA_ARG_NO_MMAP: '--no-mmap', LLAMA_ARG_NO_KV_OFFLOAD: '-nkvo' }

function envArgs(environ: string, argv: string[]): string[] {
  const out: string[] = []
  for (const kv of environ.split('\0')) {
    const i = kv.indexOf('=')
    if (i < 1) continue
    const [k, v] = [kv.slice(0, i), kv.slice(i + 1)]
    const flag = envFlags[k]
    if (flag && !argv.includes(flag)) out.push(flag, flag === '-fa' && (v === '1' || v === 'true') ? 'on' : flag === '-fa' && (v === '0' || v === 'false') ? 'off' : v)
    const sw = envSwitches[k]
    if (sw && !argv.includes(sw) && /^(1|true|on)$/i.test(v)) out.push(sw)
    // Ollama's own switches for the runners it starts.
    if (k === 'OLLAMA_FLASH_ATTENTION' && /^(1|true)$/i.test(v) && !argv.includes('--flash-attn')) out.push('-fa', 'on')
    if (k === 'OLLAMA_KV_CACHE_TYPE' && v) out.push('-ctk', v, '-ctv', v)
  }
  return out
}

/** Process start time (clock ticks since boot): with the pid, names one process for good. */
async function startTicks(root: string, pid: number): Promise<string> {
  const stat = await readFile(join(root, String(pid), 'stat'), 'utf8').catch(() => '')
  // comm may hold spaces and parentheses: the fields after the last ')' are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return rest[19] ?? '?'
}

function fail(pid: number, commandLine: string[], error: string, extra: Partial<PlanCheck> = {}): PlanCheck {
  return { pid, kind: 'unknown', commandLine, plannedMiB: null, usedMiB: null, diffMiB: null, notes: [], error, ...extra }
}

/** Checks one process: its plan on its card against what it uses there. */
export async function checkProcess(pid: number, deps: PlanCheckDeps): Promise<PlanCheck & { processKey: string }> {
  const root = deps.procRoot ?? '/proc'
  const raw = await readFile(join(root, String(pid), 'cmdline')).catch(() => null)
  const key = `${pid}:${await startTicks(root, pid)}`
  if (!raw) return { ...fail(pid, [], `no process ${pid} (or ${root} does not show it to this user)`), processKey: key }
  const argv = raw.toString('utf8').split('\0')
  if (argv[argv.length - 1] === '') argv.pop()
  const environ = await readFile(join(root, String(pid), 'environ'), 'utf8').catch(() => '')
  const cl = parseServerCommandLine([...argv, ...envArgs(environ, argv)])
  const sample = await deps.gpuNow()
  const on = sample.gpus.filter((g) => g.processes.some((p) => p.pid === pid))
  const proc = on[0]?.processes.find((p) => p.pid === pid)
  const card = on[0]
  const usedBytes = on.reduce((s, g) => s + (g.processes.find((p) => p.pid === pid)?.usedBytes ?? 0), 0)
  const usedMiB = on.length && on.every((g) => g.processes.find((p) => p.pid === pid)?.usedBytes !== null) ? Math.round((usedBytes / MiB) * 100) / 100 : null
  const base = { pid, kind: cl.kind, commandLine: argv, notes: [...cl.notes], ...(card ? { card: card.name, gpuIndex: card.index } : {}) }
  // (no notes: they are about how a llama-server's flags were planned, and nothing was)
  if (cl.kind === 'unknown') return { ...fail(pid, argv, `${argv[0] ?? 'process'} is neither llama-server nor an Ollama runner: Hearth plans only those`, { ...base, notes: [] }), processKey: key }
  // -m relative to the server's working directory; else the model file telemetry saw it hold.
  let modelPath = cl.model
  if (modelPath && !isAbsolute(modelPath)) {
    const cwd = await readlink(join(root, String(pid), 'cwd')).catch(() => null)
    modelPath = cwd ? resolve(cwd, modelPath) : undefined
  }
  modelPath ??= proc?.modelPath
  if (!modelPath) return { ...fail(pid, argv, 'no model on its command line (-m) and none seen open or mapped', base), processKey: key }
  let input: PlanModelInput
  try {
    input = await inputOf(modelPath, cl.args, deps)
  } catch (err) {
    return { ...fail(pid, argv, (err as Error).message, { ...base, modelPath }), processKey: key }
  }
  if (!card) base.notes.push('the process is on no GPU that telemetry lists: planned without a card')
  const capacity = card?.totalBytes ? Math.floor(card.totalBytes / MiB) : 1 << 24
  const r = planOnGpus([input], [{ name: card?.name ?? 'GPU', vramMiB: capacity }], 0)
  const plan = r.models[0]
  if (cl.kind === 'ollama-runner') base.notes.push("Ollama's runner: planned as llama.cpp would run it; Ollama's own engine lays memory out differently")
  return {
    ...base,
    modelPath,
    arch: input.shape.arch,
    plannedMiB: plan.vram.totalMiB,
    usedMiB,
    diffMiB: usedMiB === null ? null : Math.round((usedMiB - plan.vram.totalMiB) * 100) / 100,
    plan,
    processKey: key,
  }
}

async function inputOf(modelPath: string, a: ServerModelArgs, deps: PlanCheckDeps): Promise<PlanModelInput> {
  const shape = await deps.shapeOf(modelPath)
  const { target: _t, ngl, device: _d, tensorSplit, mmproj, draft, ...options } = a
  void _t
  void _d
  return {
    shape,
    ngl: ngl === 'max' || ngl === undefined ? 9999 : ngl,
    options: {
      ...options,
      ...(tensorSplit ? { split: tensorSplit } : {}),
      ...(draft ? { draft: { ngl: draft.ngl ?? 9999, ctx: draft.ctx ?? 0, cacheTypeK: draft.cacheTypeK ?? 'f16', cacheTypeV: draft.cacheTypeV ?? 'f16' } } : {}),
    },
    ...(mmproj && mmproj !== 'auto' ? { projector: await deps.projectorOf(mmproj) } : {}),
    ...(draft ? { draft: await deps.shapeOf(draft.target) } : {}),
  }
}

/** Every llama-server / Ollama runner that a GPU lists. */
export async function checkAll(deps: PlanCheckDeps): Promise<Array<PlanCheck & { processKey: string }>> {
  const sample = await deps.gpuNow()
  const pids = [...new Set(sample.gpus.flatMap((g) => g.processes.filter((p) => /llama-server|ollama/i.test(p.name)).map((p) => p.pid)))]
  const out = []
  for (const pid of pids) out.push(await checkProcess(pid, { ...deps, gpuNow: async () => sample }))
  return out
}

/** "qwen2|NVIDIA H100 80GB HBM3": differences are kept per architecture and card. */
export const deviationKey = (arch: string, card: string) => `${arch}|${card.replace(/ \(free now\)$/, '')}`
const keep = 20

/** Adds the checks' differences to settings: one entry per process (a re-check replaces it). */
export function withChecks(s: Settings['planChecks'], checks: Array<PlanCheck & { processKey: string }>, atMs = Date.now()): NonNullable<Settings['planChecks']> {
  const out: NonNullable<Settings['planChecks']> = { ...(s ?? {}) }
  for (const c of checks) {
    if (c.diffMiB === null || !c.arch || !c.card) continue
    const k = deviationKey(c.arch, c.card)
    const list = (out[k] ?? []).filter((e) => e.process !== c.processKey)
    out[k] = [...list, { atMs, diffMiB: c.diffMiB, process: c.processKey }].slice(-keep)
  }
  return out
}

/** The mean difference for an architecture: on the given card when checked there, else any card. */
export function deviationFor(s: Settings['planChecks'], arch: string, card?: string) {
  const entries = Object.entries(s ?? {}).filter(([k]) => k.startsWith(`${arch}|`))
  const pickKey = card ? deviationKey(arch, card) : undefined
  const hit = entries.find(([k]) => k === pickKey) ?? entries.sort((a, b) => b[1].length - a[1].length)[0]
  if (!hit || !hit[1].length) return undefined
  const [k, list] = hit
  return {
    arch,
    card: k.slice(arch.length + 1),
    meanMiB: Math.round(list.reduce((x, e) => x + e.diffMiB, 0) / list.length),
    samples: list.length,
    lastAtMs: Math.max(...list.map((e) => e.atMs)),
  }
}
