// Storage: the device each model lives on (through dm/md/partitions to the disks), whether it
// spins, how fast Hearth measured it to read, and what that means per model: "cold ≈ N s from
// this disk, now ≈ M s". Network and FUSE filesystems are named as such.
import type { Evidence, Finding, StorageDevice } from '../../../shared/api'
import { describeLoad, estimateLoad } from '../../../shared/doctor/load-time'
import { formatBytes, formatRate, formatSeconds } from '../../../shared/format'
import type { DoctorInputs } from './inputs'
import { bytesEv, ev, rateEv, secondsEv, unknownEv, type Check } from './types'

const slowDiskBytesPerSec = 300e6

function bandwidthEvidence(d: StorageDevice): Evidence[] {
  if (d.bytesPerSec === null) return [unknownEv('read bandwidth', 'not measured yet: a warm of a model on it, or the 2-second read test, measures it')]
  return [
    rateEv(`read bandwidth (median of ${d.samples.length})`, d.bytesPerSec),
    ...d.samples.map((s) => ev(`measured ${new Date(s.atMs).toISOString().slice(0, 16).replace('T', ' ')}`, `${formatRate(s.bytesPerSec)} by ${s.source} over ${formatBytes(s.bytes)}`)),
  ]
}

function deviceFinding(inputs: DoctorInputs, d: StorageDevice, modelIds: string[]): Finding {
  const bytes = modelIds.reduce((s, id) => s + inputs.modelBytes(id), 0)
  const evidence: Evidence[] = [
    ev('device', d.name),
    ev('filesystem', `${d.fstype} at ${d.mountPoint}`, `${inputs.roots.proc}/self/mountinfo`),
    ...(d.chain.length ? [ev('block chain', d.chain.join(' → '), `${inputs.roots.sys}/dev/block, slaves/`)] : []),
    ...(d.kind === 'disk' ? [d.rotational === null ? unknownEv('rotational', `${inputs.roots.sys}/block/*/queue/rotational is missing`) : ev('rotational', d.rotational ? '1 (spinning disk)' : '0 (SSD or virtual)', `${inputs.roots.sys}/block/${d.chain[d.chain.length - 1]}/queue/rotational`)] : []),
    ...bandwidthEvidence(d),
    bytesEv(`models on it (${modelIds.length})`, bytes),
  ]
  const measure = { label: `Measure ${d.name} (2-second read test)`, action: { kind: 'readTest' as const, device: d.key }, command: `hearth doctor --read-test '${d.key}'` }
  const base = { id: `storage:${d.key}`, check: 'storage', evidence, modelIds }
  const seconds = d.bytesPerSec ? bytes / d.bytesPerSec : null
  if (d.kind === 'network') return { ...base, status: 'info', title: `${modelIds.length} model(s) live on the network share ${d.name}`, why: 'Every cold load crosses the network; FS-Cache keeps a copy on local disk (see the network share check).', ...(d.bytesPerSec === null ? { fix: measure } : {}) }
  if (d.kind === 'fuse') {
    return { ...base, status: 'warn', title: `${modelIds.length} model(s) live on a FUSE mount: ${d.name}`, why: 'FUSE filesystems (sshfs, rclone, s3fs …) keep their own cache; with direct_io the kernel page cache is bypassed and warming does not last. Check after a warm with `hearth status`; copy hot models to a local disk if they do not stay.', ...(d.bytesPerSec === null ? { fix: measure } : {}) }
  }
  if (d.bytesPerSec === null) return { ...base, status: 'info', title: `${d.name}: read bandwidth not measured yet`, why: 'Load times cannot be estimated until Hearth has seen this device read: a warm measures it, or run the 2-second read test (it reads, never writes).', fix: measure }
  if (d.rotational && d.bytesPerSec < slowDiskBytesPerSec) {
    return { ...base, status: 'warn', title: `${d.name} is a spinning disk at ${formatRate(d.bytesPerSec)}: a cold load of all its models takes ≈ ${formatSeconds(seconds)}`, why: 'Hard disks read at 100–250 MB/s: every cold load of a large model takes minutes. Keep the models you use warm (pin), or move them to an SSD.' }
  }
  return { ...base, status: 'ok', title: `${d.name} reads at ${formatRate(d.bytesPerSec)}${d.rotational ? ' (reports rotational=1, yet reads like a virtual or cached disk)' : ''}`, why: 'Cold loads from it are as fast as this bandwidth allows.' }
}

export const storageCheck: Check = {
  id: 'storage',
  async run(inputs) {
    const s = await inputs.storage()
    const devices = new Map(s.devices.map((d) => [d.key, d]))
    const onDevice = new Map<string, string[]>()
    const unplaced: Evidence[] = []
    const places = await inputs.places()
    for (const m of s.models) {
      for (const f of m.files) {
        if (f.device === null) {
          const p = places.get(f.path)
          unplaced.push(unknownEv(f.path, p && 'unknown' in p && typeof p.unknown === 'string' ? p.unknown : 'not located'))
          continue
        }
        const list = onDevice.get(f.device) ?? []
        if (!list.includes(m.modelId)) list.push(m.modelId)
        onDevice.set(f.device, list)
      }
    }
    const out: Finding[] = []
    for (const [key, ids] of onDevice) {
      const d = devices.get(key)!
      if (d.kind === 'ram') continue
      out.push(deviceFinding(inputs, d, ids))
    }
    if (unplaced.length > 0) out.push({ id: 'storage:unknown', check: 'storage', status: 'info', title: `${unplaced.length} model file(s) could not be located on a device`, evidence: unplaced.slice(0, 10), why: 'Their load time cannot be estimated.', unknown: unplaced[0].unknown })
    // Load times: the sentence per model, slowest first.
    const residency = await inputs.residency()
    const rows = s.models.map((m) => ({ id: m.modelId, e: estimateLoad(m.files, residency.find((r) => r.modelId === m.modelId), devices) }))
    rows.sort((a, b) => (b.e.coldSeconds ?? Infinity) - (a.e.coldSeconds ?? Infinity))
    if (rows.length > 0) {
      const known = rows.filter((r) => r.e.coldSeconds !== null)
      out.push({
        id: rows.length === 1 ? `load-time:${rows[0].id}` : 'load-time:all',
        check: 'storage',
        status: 'info',
        title: rows.length === 1 ? `${inputs.modelName(rows[0].id)}: ${describeLoad(rows[0].e)}` : known.length ? `Load times: the slowest cold load is ${inputs.modelName(known[0].id)}, ≈ ${formatSeconds(known[0].e.coldSeconds)}` : 'Load times: no read bandwidth measured yet',
        evidence: rows.slice(0, 12).map((r) => (r.e.coldSeconds === null ? unknownEv(inputs.modelName(r.id), describeLoad(r.e)) : secondsEv(inputs.modelName(r.id), r.e.coldSeconds, describeLoad(r.e)))),
        why: 'Bytes not in RAM over the device\'s measured read bandwidth: what a load that reads the whole model waits for the disk. "now" counts what is resident at this moment.',
        modelIds: rows.map((r) => r.id),
      })
    }
    return out
  },
}
