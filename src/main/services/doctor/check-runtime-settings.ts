// Runtime settings that decide caching, read from the runtimes' own configuration on disk: LM
// Studio's per-model load settings, Ollama's environment and service unit, and the loading flags
// on llama.cpp command lines.
import { dirname, relative } from 'node:path'
import type { Evidence, Finding } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import { lmStudioHome } from '../catalog/roots'
import type { DoctorInputs } from './inputs'
import { readLmStudioConfigs } from './lmstudio'
import { keepAliveSeconds, ollamaUnit } from './ollama'
import { bytesEv, ev, unknownEv, type Check } from './types'

async function userMemlock(inputs: DoctorInputs): Promise<number | null | undefined> {
  const l = await inputs.proc.limits('self')
  return l.ok ? (l.value.get('Max locked memory')?.soft ?? undefined) : undefined
}

async function lmStudioFindings(inputs: DoctorInputs): Promise<Finding[]> {
  const { path: lmHome } = await lmStudioHome(inputs.home)
  const { dir, configs, problems } = await readLmStudioConfigs(lmHome)
  const models = [...inputs.modelsById.values()].filter((m) => m.source === 'lmstudio')
  const out: Finding[] = []
  const memlock = await userMemlock(inputs)
  for (const c of configs) {
    const model = models.find((m) => m.files.some((f) => [relative(m.root, f.path), dirname(relative(m.root, f.path))].includes(c.modelRelPath)))
    if (!model) continue
    const base: Evidence[] = [ev('settings file', c.file), bytesEv(`model ${model.name}`, model.bytes)]
    if (c.directIo?.value) {
      out.push({
        id: `runtime-settings:lmstudio:${model.id}:direct-io`,
        check: 'runtime-settings',
        status: 'fail',
        title: `LM Studio loads ${model.name} with direct I/O: the page cache cannot help it`,
        evidence: [...base, ev(c.directIo.key, 'true', c.file)],
        why: 'Direct I/O reads the whole model from disk on every load and turns mmap off. Staging serves those reads from RAM; or turn direct I/O off in the model\'s load settings.',
        fix: { label: `Stage ${model.name} in the RAM disk`, action: { kind: 'stage', targets: [model.id] }, command: `hearth stage ${model.id}` },
        modelIds: [model.id],
      })
    }
    if (c.tryMmap === false) {
      out.push({
        id: `runtime-settings:lmstudio:${model.id}:mmap-off`,
        check: 'runtime-settings',
        status: 'warn',
        title: `LM Studio loads ${model.name} with "Try mmap()" off`,
        evidence: [...base, ev('llm.load.llama.tryMmap', 'false', c.file)],
        why: `Without mmap LM Studio copies all ${formatBytes(model.bytes)} into its own memory on every load; a warm page cache only speeds that copy up, and the model then takes RAM twice.`,
        fix: {
          label: 'Turn "Try mmap()" on for this model',
          command: `jq '(.load.fields[] | select(.key == "llm.load.llama.tryMmap") | .value) = true' '${c.file}' > '${c.file}.new' && mv '${c.file}.new' '${c.file}'`,
        },
        modelIds: [model.id],
      })
    }
    if (c.keepModelInMemory === true) {
      const fails = memlock !== undefined && memlock !== null && memlock < model.bytes
      out.push({
        id: `runtime-settings:lmstudio:${model.id}:keep-in-memory`,
        check: 'runtime-settings',
        status: fails ? 'warn' : 'info',
        title: fails
          ? `LM Studio keeps ${model.name} in memory (mlock), but your memory-lock limit is ${formatBytes(memlock!)}`
          : `LM Studio keeps ${model.name} locked in memory (mlock)`,
        evidence: [...base, ev('llm.load.llama.keepModelInMemory', 'true', c.file), memlock === undefined ? unknownEv('your RLIMIT_MEMLOCK', 'not readable') : memlock === null ? ev('your RLIMIT_MEMLOCK', 'unlimited', `${inputs.roots.proc}/self/limits`) : bytesEv('your RLIMIT_MEMLOCK', memlock, `${inputs.roots.proc}/self/limits`)],
        why: fails
          ? 'mlock beyond RLIMIT_MEMLOCK fails, so the model is not locked: it can still be evicted under memory pressure.'
          : 'A locked model cannot be evicted while LM Studio holds it; it also cannot be given back to other programs.',
        ...(fails ? { fix: { label: 'Raise the memory-lock limit (log in again after)', command: `echo '${inputs.env.USER ?? 'youruser'} - memlock unlimited' | sudo tee /etc/security/limits.d/90-memlock.conf` } } : {}),
        modelIds: [model.id],
      })
    }
  }
  if (problems.length > 0) {
    out.push({ id: 'runtime-settings:lmstudio:unreadable', check: 'runtime-settings', status: 'info', title: `${problems.length} LM Studio load-settings file(s) could not be read`, evidence: problems.slice(0, 5).map((p) => unknownEv('file', p)), why: `Files under ${dir} that are not LM Studio's load-config shape were skipped.`, unknown: problems[0] })
  }
  return out
}

async function ollamaFindings(inputs: DoctorInputs): Promise<Finding[]> {
  const mem = await inputs.meminfo()
  const memTotal = mem.ok ? (mem.value.get('MemTotal') ?? null) : null
  const unit = await ollamaUnit(inputs.roots.etc, memTotal, inputs.roots.etc === '/etc')
  const servers = (await inputs.processes()).filter((p) => p.runtime?.kind === 'ollama' && !p.argv.includes('runner'))
  const models = [...inputs.modelsById.values()].filter((m) => m.source === 'ollama')
  if (!unit && servers.length === 0 && models.length === 0) return []
  const largest = models.reduce((a, m) => (m.bytes > (a?.bytes ?? 0) ? m : a), undefined as (typeof models)[number] | undefined)
  const out: Finding[] = []
  const env = new Map(unit?.environment ?? [])
  const envSources: string[] = unit ? [unit.source] : []
  for (const s of servers) {
    const e = await inputs.proc.environ(s.pid)
    if (e.ok) {
      for (const [k, v] of e.value) if (k.startsWith('OLLAMA_')) env.set(k, v)
      envSources.push(inputs.proc.path(s.pid, 'environ'))
    }
  }
  if (unit && unit.memoryMaxBytes !== null && largest) {
    const fails = unit.memoryMaxBytes < largest.bytes
    const high = unit.memoryHighBytes
    out.push({
      id: 'runtime-settings:ollama:memory-max',
      check: 'runtime-settings',
      status: fails ? 'fail' : 'warn',
      title: `ollama.service has MemoryMax=${formatBytes(unit.memoryMaxBytes)}${fails ? `, less than ${largest.name} (${formatBytes(largest.bytes)})` : ''}`,
      evidence: [bytesEv('MemoryMax', unit.memoryMaxBytes, unit.source), ...(high !== null ? [bytesEv('MemoryHigh', high, unit.source)] : []), bytesEv(`largest Ollama model (${largest.name})`, largest.bytes)],
      why: 'A service memory limit counts the page cache of the files it reads: the model pages Ollama loads are charged to ollama.service and evicted when it reaches the limit, so a larger model cannot stay cached and every load reads from disk again.',
      modelIds: fails ? models.filter((m) => m.bytes > unit.memoryMaxBytes!).map((m) => m.id) : undefined,
      fix: {
        label: 'Lift the limit on ollama.service',
        steps: [
          { label: 'Add a drop-in without the limit', command: "sudo mkdir -p /etc/systemd/system/ollama.service.d && printf '[Service]\\nMemoryMax=infinity\\nMemoryHigh=infinity\\n' | sudo tee /etc/systemd/system/ollama.service.d/50-hearth-memory.conf" },
          { label: 'Apply it', command: 'sudo systemctl daemon-reload && sudo systemctl restart ollama' },
        ],
      },
    })
  }
  const keep = env.get('OLLAMA_KEEP_ALIVE')
  const keepS = keep === undefined ? 300 : keepAliveSeconds(keep)
  const evidence: Evidence[] = [
    ev('OLLAMA_MODELS', env.get('OLLAMA_MODELS') ?? '(default: ~/.ollama/models, or /usr/share/ollama/.ollama/models for the service)', envSources.join(', ') || undefined),
    keepS === undefined ? unknownEv('OLLAMA_KEEP_ALIVE', `${JSON.stringify(keep)} is not a duration`) : { label: 'OLLAMA_KEEP_ALIVE', value: keep === undefined ? '5m (default)' : keep, amount: keepS, unit: 'seconds' },
    ...(unit ? [ev('service unit', unit.loaded ? 'ollama.service' : 'drop-ins only', unit.source), ev('LimitMEMLOCK', unit.limitMemlock ?? '(default)', unit.source)] : []),
    ...(servers.length === 0 ? [ev('server process', 'not running')] : servers.map((s) => ev('server process', `pid ${s.pid}`, inputs.proc.path(s.pid, 'cmdline')))),
  ]
  out.push({
    id: 'runtime-settings:ollama:settings',
    check: 'runtime-settings',
    status: keepS === 0 ? 'warn' : 'info',
    title: keepS === 0 ? 'Ollama unloads every model right after each request (OLLAMA_KEEP_ALIVE=0)' : `Ollama keeps a loaded model for ${keep ?? '5m (default)'}`,
    evidence,
    why: 'After the keep-alive Ollama frees the model\'s memory; the next request loads it again, from the page cache if the model file is still warm (Hearth can keep it warm: pin it), else from disk.',
    ...(keepS === 0 ? { fix: { label: 'Keep models loaded for 30 minutes', command: "sudo systemctl edit ollama.service   # add: [Service] Environment=\"OLLAMA_KEEP_ALIVE=30m\"" } } : {}),
  })
  return out
}

async function llamaFindings(inputs: DoctorInputs): Promise<Finding[]> {
  const out: Finding[] = []
  for (const p of await inputs.processes()) {
    if (!p.llama) continue
    const a = p.llama
    const modelIds = [...new Set(p.files.map((f) => f.modelId))]
    const evidence: Evidence[] = [ev('process', `${p.runtime?.label} (pid ${p.pid})`, inputs.proc.path(p.pid, 'cmdline')), ev('model argument', a.model ?? '(none: -hf or a preset?)'), ev('loading flags', a.flags.length ? a.flags.join(' ') : 'none (defaults)')]
    const direct = a.directIo === true
    out.push({
      id: `runtime-settings:llama:${p.pid}`,
      check: 'runtime-settings',
      status: direct ? 'fail' : a.noMmap ? 'warn' : 'info',
      title: direct
        ? `${p.runtime?.label} (pid ${p.pid}) asks for direct I/O (${a.flags.join(' ')})`
        : a.noMmap
          ? `${p.runtime?.label} (pid ${p.pid}) runs with mmap off (${a.flags.join(' ')})`
          : `${p.runtime?.label} (pid ${p.pid}) ${a.flags.length ? `runs with ${a.flags.join(' ')}` : 'runs with the default loading flags'}`,
      evidence,
      why: direct
        ? 'Direct I/O bypasses the page cache: warming does nothing for the next load. Stage the model, or run with --load-mode mmap.'
        : a.noMmap
          ? 'With mmap off the whole model is copied into the process on every load; the page cache only speeds up that copy.'
          : 'Defaults map the model (the page cache serves it), except llama.cpp builds from December 2025 to January 2026, which defaulted to direct I/O on Linux; the process check shows what it really opened.',
      ...(direct && modelIds.length > 0 ? { fix: { label: 'Stage the model in the RAM disk', action: { kind: 'stage' as const, targets: modelIds }, command: `hearth stage ${modelIds.join(' ')}` } } : {}),
      ...(modelIds.length ? { modelIds } : {}),
    })
  }
  return out
}

export const runtimeSettingsCheck: Check = {
  id: 'runtime-settings',
  async run(inputs) {
    const parts = await Promise.all([lmStudioFindings(inputs), ollamaFindings(inputs), llamaFindings(inputs)])
    return parts.flat()
  },
}
