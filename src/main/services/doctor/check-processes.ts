// Model processes: each running loader (llama.cpp, Ollama, LM Studio, vLLM, koboldcpp,
// text-generation-webui, Python) and how it holds each model: mapped (the page cache serves it),
// opened with O_DIRECT (the page cache cannot help: stage it), or read into its own anonymous
// memory (mmap off). Processes this user cannot inspect are listed, not skipped.
import { readFile } from 'node:fs/promises'
import type { Evidence, Finding } from '../../../shared/api'
import { describeLoad } from '../../../shared/doctor/load-time'
import { formatBytes, formatSeconds } from '../../../shared/format'
import type { DoctorInputs, HeldFile, ModelProcess } from './inputs'
import { bytesEv, ev, plural, secondsEv, unknownEv, type Check } from './types'

const cmdlineText = (argv: string[]) => {
  const s = argv.join(' ')
  return s.length > 240 ? `${s.slice(0, 237)}…` : s
}

export function labelOf(p: ModelProcess): string {
  return `${p.runtime?.label ?? p.comm} (pid ${p.pid})`
}

/** GPUDirect Storage settings: cuFile's environment, and whether libcufile is mapped at all. */
async function gdsEvidence(inputs: DoctorInputs, p: ModelProcess): Promise<Evidence[]> {
  const out: Evidence[] = []
  const env = await inputs.proc.environ(p.pid)
  const envFile = inputs.proc.path(p.pid, 'environ')
  if (!env.ok) out.push(unknownEv('GDS / cuFile environment', env.reason, envFile))
  else {
    const vars = [...env.value].filter(([k]) => /^(CUFILE_|KVIKIO_|GDS_|VLLM_USE_GDS)/.test(k))
    out.push(ev('GDS / cuFile environment', vars.length ? vars.map(([k, v]) => `${k}=${v}`).join(' ') : 'none set (CUFILE_ENV_FORCE_COMPAT_MODE unset)', envFile))
  }
  const maps = await readFile(inputs.proc.path(p.pid, 'maps'), 'utf8').catch(() => null)
  if (maps?.includes('libcufile')) out.push(ev('cuFile library', 'libcufile is mapped: this process can read with GPUDirect Storage (O_DIRECT)', inputs.proc.path(p.pid, 'maps')))
  return out
}

function fdEvidence(inputs: DoctorInputs, p: ModelProcess, h: HeldFile): Evidence {
  const source = inputs.proc.path(p.pid, `fdinfo/${h.fd}`)
  if (h.flags === undefined) return unknownEv(`fd ${h.fd} open flags`, h.flagsUnknown ?? 'not read', source)
  const octal = h.flags.toString(8).padStart(8, '0')
  return { label: `fd ${h.fd} open flags`, value: `${octal}${h.direct ? ' (O_DIRECT)' : ' (buffered)'}`, amount: h.flags, unit: 'count', source }
}

async function loadEvidence(inputs: DoctorInputs, modelId: string): Promise<{ evidence: Evidence; seconds: number | null }> {
  const e = await inputs.loadOf(modelId)
  if (e.coldSeconds === null) return { evidence: unknownEv('each load reads', `${formatBytes(e.bytes)}; ${describeLoad(e)}`), seconds: null }
  return { evidence: secondsEv('each load reads', e.coldSeconds, `${formatBytes(e.bytes)} from ${e.deviceNames.join(' + ')}: ≈ ${formatSeconds(e.coldSeconds)}`), seconds: e.coldSeconds }
}

async function isStaged(inputs: DoctorInputs, modelId: string): Promise<boolean> {
  const r = (await inputs.residency()).find((m) => m.modelId === modelId)
  return Boolean(r && r.files.length > 0 && r.files.every((f) => f.staged))
}

async function findingsFor(inputs: DoctorInputs, p: ModelProcess): Promise<Finding[]> {
  const out: Finding[] = []
  const who = labelOf(p)
  const base: Evidence[] = [ev('process', who, inputs.proc.path(p.pid, 'comm')), ev('command line', cmdlineText(p.argv) || '(not readable)', inputs.proc.path(p.pid, 'cmdline'))]
  const gds = await gdsEvidence(inputs, p)
  const byModel = new Map<string, HeldFile[]>()
  for (const h of p.files) byModel.set(h.modelId, [...(byModel.get(h.modelId) ?? []), h])
  for (const [modelId, held] of byModel) {
    const name = inputs.modelName(modelId)
    const bytes = inputs.modelBytes(modelId)
    const staged = await isStaged(inputs, modelId)
    const direct = held.filter((h) => h.direct)
    const mapped = held.filter((h) => h.via === 'map')
    const stale = held.filter((h) => h.staleInode)
    const fds = held.filter((h) => h.via === 'fd')
    const id = `processes:${modelId}:${p.runtime?.kind ?? p.comm}:${p.pid}`
    const anon = p.status.ok ? p.status.value.rssAnonBytes : null
    const anonEv = anon === null ? unknownEv('anonymous memory (RssAnon)', p.status.ok ? 'no RssAnon line' : p.status.reason, inputs.proc.path(p.pid, 'status')) : bytesEv('anonymous memory (RssAnon)', anon, inputs.proc.path(p.pid, 'status'))
    const evidence = [...base, bytesEv(`model ${name}`, bytes), ...fds.map((h) => fdEvidence(inputs, p, h)), ...mapped.map((h) => bytesEv(`mapped ${h.path}`, h.mappedBytes ?? 0, inputs.proc.path(p.pid, 'maps'))), anonEv, ...gds]
    if (stale.length > 0 && staged) {
      out.push({
        id: `${id}:stale`,
        check: 'processes',
        status: 'warn',
        title: `${who} opened ${name} before it was staged: it still reads the disk copy`,
        evidence: [...evidence, ev('held', `${plural(stale.length, 'file')} by the original inode (same path, different device + inode than the RAM-disk copy)`)],
        why: 'A bind mount only changes what new opens find. This process keeps the file it opened before, so its next reads still go to disk and the RAM disk does nothing for it.',
        fix: { label: `Restart ${p.runtime?.label ?? p.comm} so it opens the RAM-disk copy`, command: `kill ${p.pid}   # then start it again` },
        modelIds: [modelId],
      })
      continue
    }
    if (direct.length > 0) {
      if (staged) {
        out.push({ id, check: 'processes', status: 'ok', title: `${who} reads ${name} with O_DIRECT from the RAM disk`, evidence, why: 'The model is staged: its direct reads come from RAM, so they are as fast as memory copies.', modelIds: [modelId] })
        continue
      }
      const load = await loadEvidence(inputs, modelId)
      out.push({
        id,
        check: 'processes',
        status: 'fail',
        title: `${who} reads ${name} with O_DIRECT: warming cannot help`,
        evidence: [...evidence, load.evidence],
        why:
          `Direct I/O bypasses the page cache: every load reads the whole model from the device again${load.seconds !== null ? ` (≈ ${formatSeconds(load.seconds)} here)` : ''}, whatever Hearth warmed or locked. ` +
          'Staging copies it into a RAM disk mounted over the original, so the same direct reads come from RAM. ' +
          (p.runtime?.kind === 'llama.cpp' ? 'Or start llama.cpp with --load-mode mmap (older builds: --no-direct-io / -ndio).' : p.runtime?.kind === 'lmstudio' ? 'Or turn direct I/O off in the model\'s load settings in LM Studio.' : ''),
        fix: { label: `Stage ${name} in the RAM disk`, action: { kind: 'stage', targets: [modelId] }, command: `hearth stage ${modelId}` },
        modelIds: [modelId],
      })
      continue
    }
    if (mapped.length > 0) {
      out.push({ id, check: 'processes', status: 'ok', title: `${who} maps ${name} (mmap): the page cache serves it`, evidence, why: 'A mapped model is read through the page cache, so what Hearth warms or locks is what this loader uses.', modelIds: [modelId] })
      continue
    }
    // Neither mapped nor direct: it read (or is reading) the model into its own memory.
    const readIn = anon !== null && bytes > 0 && anon >= 0.8 * bytes
    const flags = p.llama?.flags.length ? ` (${p.llama.flags.join(' ')})` : ''
    out.push({
      id,
      check: 'processes',
      status: readIn ? 'warn' : 'info',
      title: readIn
        ? `${who} read ${name} into its own memory (mmap off${flags}): RssAnon ${formatBytes(anon)} ≈ model ${formatBytes(bytes)}`
        : fds.length > 0
          ? `${who} reads ${name} with buffered read() (the page cache helps)`
          : `${who} names ${name} on its command line but holds no open file or mapping of it`,
      evidence,
      why: readIn
        ? 'With mmap off a loader copies the whole model into anonymous memory on every load: the page cache copy only speeds that copy up, and while both exist the model takes RAM twice. Without swap that memory cannot be paged out either.'
        : 'Buffered reads go through the page cache, so a warm model loads from RAM.',
      ...(readIn
        ? {
            fix:
              p.runtime?.kind === 'llama.cpp'
                ? { label: 'Load with mmap', command: 'restart llama.cpp without --no-mmap (or with --load-mode mmap)' }
                : p.runtime?.kind === 'lmstudio'
                  ? { label: 'Turn "Try mmap()" on for this model in LM Studio', command: 'LM Studio → My Models → the model → Load settings → Try mmap() on' }
                  : undefined,
          }
        : {}),
      modelIds: [modelId],
    })
  }
  return out
}

export const processesCheck: Check = {
  id: 'processes',
  async run(inputs) {
    const procs = await inputs.processes()
    const out: Finding[] = []
    const idle = new Map<string, ModelProcess[]>()
    for (const p of procs) {
      if (p.files.length === 0 && p.deniedReason) {
        const status = p.status.ok ? p.status.value : null
        out.push({
          id: `processes:denied:${p.runtime?.kind ?? p.comm}:${p.pid}`,
          check: 'processes',
          status: 'info',
          title: `${labelOf(p)} cannot be inspected by this user`,
          evidence: [
            ev('process', labelOf(p), inputs.proc.path(p.pid, 'comm')),
            ev('command line', cmdlineText(p.argv) || '(not readable)', inputs.proc.path(p.pid, 'cmdline')),
            status ? ev('user id', String(status.uid), inputs.proc.path(p.pid, 'status')) : unknownEv('user id', p.status.ok ? '' : p.status.reason),
            unknownEv('open files and mappings', p.deniedReason),
          ],
          why: 'Another user runs it (a system service such as ollama.service), so its open files, mappings and O_DIRECT flags are hidden from you. Root can see them.',
          fix: { label: 'Look as root', command: 'sudo hearth doctor' },
          unknown: p.deniedReason,
        })
        continue
      }
      if (p.files.length === 0) {
        const key = p.runtime?.label ?? p.comm
        idle.set(key, [...(idle.get(key) ?? []), p])
        continue
      }
      out.push(...(await findingsFor(inputs, p)))
    }
    for (const [label, ps] of idle) {
      out.push({
        id: `processes:idle:${label}`,
        check: 'processes',
        status: 'info',
        title: `${label} is running (${plural(ps.length, 'process', 'processes')}) and holds no catalogued model`,
        evidence: ps.slice(0, 8).map((p) => ev(`pid ${p.pid}`, cmdlineText(p.argv), inputs.proc.path(p.pid, 'cmdline'))),
        why: 'Nothing it holds now is one of your models; the next load will show here.',
      })
    }
    if (out.length === 0) {
      const scanned = (await inputs.rawProcesses()).length
      out.push({ id: 'processes:none', check: 'processes', status: 'ok', title: 'No model process is running', evidence: [{ ...ev('processes looked at', String(scanned), `${inputs.roots.proc}/*/fd, maps, cmdline`), amount: scanned, unit: 'count' }], why: 'No loader holds one of your models right now.' })
    }
    return out
  },
}
