// cgroup memory limits (v2 memory.max/memory.high, v1 memory.limit_in_bytes) of the groups model
// processes run in, and of Hearth's own group (its warms are charged there), against the sizes of
// the models they read. The page cache a group reads counts against its limit.
import { basename } from 'node:path'
import type { Evidence, Finding, FixStep } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import type { CgroupMemory } from './cgroup'
import { memoryCgroup } from './cgroup'
import type { DoctorInputs } from './inputs'
import { bytesEv, ev, unknownEv, unknownFinding, type Check } from './types'

interface Group {
  cg: CgroupMemory
  members: string[]
  modelIds: Set<string>
  /** Hearth's own group: every warm reads through it */
  hearth: boolean
}

function fixFor(cg: CgroupMemory): { label: string; steps: FixStep[] } {
  const unit = basename(cg.path)
  if (cg.version === 2 && /\.(service|scope|slice)$/.test(unit)) {
    const user = /\/user@\d+\.service\//.test(cg.path)
    return {
      label: `Lift the memory limit of ${unit}`,
      steps: [{ label: 'Now and across restarts', command: `${user ? 'systemctl --user' : 'sudo systemctl'} set-property ${unit} MemoryMax=infinity MemoryHigh=infinity` }],
    }
  }
  if (/docker|containerd|libpod|kubepods/.test(cg.path)) {
    return { label: 'Give the container more memory (or none as limit)', steps: [{ label: 'Docker', command: `docker update --memory 0 --memory-swap -1 <container>   # cgroup ${cg.path}` }] }
  }
  return cg.version === 1
    ? { label: 'Remove the v1 limit', steps: [{ label: 'As root', command: `echo -1 | sudo tee ${cg.dir}/memory.limit_in_bytes` }] }
    : { label: 'Remove the v2 limit', steps: [{ label: 'As root', command: `echo max | sudo tee ${cg.limitFile ?? `${cg.dir}/memory.max`}` }] }
}

function groupFinding(inputs: DoctorInputs, g: Group, largestBytes: number): Finding {
  const models = [...g.modelIds].map((id) => ({ id, name: inputs.modelName(id), bytes: inputs.modelBytes(id) }))
  const need = g.hearth && models.length === 0 ? largestBytes : models.reduce((s, m) => s + m.bytes, 0)
  const limit = g.cg.limitBytes
  const high = g.cg.highBytes
  const anon = g.cg.anonBytes ?? 0
  const evidence: Evidence[] = [
    ev('cgroup', `v${g.cg.version} ${g.cg.path}`, g.cg.dir),
    ev('processes', g.members.join(', ')),
    limit === null ? ev('hard limit', 'none', g.cg.dir) : bytesEv('hard limit', limit, g.cg.limitFile ?? undefined),
    ...(g.cg.version === 2 ? [high === null ? ev('memory.high', 'none') : bytesEv('memory.high', high, g.cg.highFile ?? undefined)] : []),
    g.cg.fileBytes === null ? unknownEv('page cache charged', 'memory.stat has no file/cache line', g.cg.statFile) : bytesEv('page cache charged', g.cg.fileBytes, g.cg.statFile),
    g.cg.anonBytes === null ? unknownEv('anonymous memory', 'memory.stat has no anon/rss line', g.cg.statFile) : bytesEv('anonymous memory', g.cg.anonBytes, g.cg.statFile),
    ...(g.hearth && models.length === 0 ? [bytesEv('largest model Hearth may warm', largestBytes)] : models.map((m) => bytesEv(`model ${m.name}`, m.bytes))),
  ]
  const others = g.members.length - (g.hearth ? 1 : 0)
  const who = g.hearth
    ? others > 0
      ? `the cgroup Hearth shares with ${others} model process${others === 1 ? '' : 'es'}`
      : "Hearth's own cgroup"
    : `the cgroup of ${g.members[0]}${g.members.length > 1 ? ` and ${g.members.length - 1} more` : ''}`
  const base = { id: `cgroups:${g.cg.version}:${g.cg.path}`, check: 'cgroups', evidence, ...(models.length ? { modelIds: models.map((m) => m.id) } : {}) }
  if (limit === null && high === null) {
    return { ...base, status: 'ok', title: `${who[0].toUpperCase()}${who.slice(1)} (${g.cg.path}) has no memory limit`, why: 'Its page cache is bounded only by the machine\'s RAM.' }
  }
  const cap = Math.min(limit ?? Infinity, high ?? Infinity)
  const capText = `${formatBytes(cap)} (${limit !== null && cap === limit ? (g.cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes') : 'memory.high'})`
  const why = g.hearth
    ? `Pages Hearth reads while warming are charged to its cgroup: a warm of a model larger than ${formatBytes(cap)} evicts its own beginning before it ends, and the model is not kept hot for the loader.`
    : `The page cache this group reads is charged to it: once ${formatBytes(cap)} is in use the kernel evicts the group's own pages, so models larger than that (with the processes' own memory) cannot stay cached and each load reads from disk again.`
  if (need > cap) return { ...base, status: 'fail', title: `${who} is limited to ${capText}, less than ${g.hearth && models.length === 0 ? 'your largest model' : 'its models'} (${formatBytes(need)})`, why, fix: fixFor(g.cg) }
  if (need + anon > cap) return { ...base, status: 'warn', title: `${who} is limited to ${capText}: its models (${formatBytes(need)}) and its own memory (${formatBytes(anon)}) do not both fit`, why, fix: fixFor(g.cg) }
  return { ...base, status: 'info', title: `${who} is limited to ${capText}; its models fit (${formatBytes(need)})`, why: 'The models fit under the limit with room for the processes\' own memory.' }
}

export const cgroupsCheck: Check = {
  id: 'cgroups',
  async run(inputs) {
    const mounts = await inputs.mounts()
    if (!mounts.ok) return [unknownFinding('cgroups:unknown', 'cgroups', 'cgroup memory limits: unknown', mounts.reason, 'Without mountinfo the cgroup hierarchies cannot be found.')]
    const groups = new Map<string, Group>()
    const problems: Finding[] = []
    const add = async (pid: number | 'self', label: string, modelIds: string[], hearth: boolean) => {
      const cgText = await inputs.proc.cgroup(pid)
      if (!cgText.ok) {
        problems.push(unknownFinding(`cgroups:unknown:${label}`, 'cgroups', `cgroup of ${label}: unknown`, cgText.reason, 'The memory limit of this process cannot be checked.'))
        return
      }
      const cg = await memoryCgroup(cgText.value, mounts.value)
      if (!cg.ok) {
        problems.push(unknownFinding(`cgroups:unknown:${label}`, 'cgroups', `memory cgroup of ${label}: unknown`, cg.reason, 'The memory limit of this process cannot be checked.'))
        return
      }
      const key = `${cg.value.version}:${cg.value.dir}`
      let g = groups.get(key)
      if (!g) groups.set(key, (g = { cg: cg.value, members: [], modelIds: new Set(), hearth: false }))
      g.members.push(label)
      for (const id of modelIds) g.modelIds.add(id)
      g.hearth ||= hearth
    }
    await add('self', `Hearth (pid ${inputs.selfPid})`, [], true)
    for (const p of await inputs.processes()) {
      if (p.files.length === 0) continue
      await add(p.pid, `${p.runtime?.label ?? p.comm} (pid ${p.pid})`, [...new Set(p.files.map((f) => f.modelId))], false)
    }
    const largest = Math.max(0, ...[...inputs.modelsById.values()].map((m) => m.bytes))
    return [...[...groups.values()].map((g) => groupFinding(inputs, g, largest)), ...problems]
  },
}
