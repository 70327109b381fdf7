// Load-time estimates: the bytes a loader still has to read from each device over the device's
// measured read bandwidth. Pure, so the CLI, the Doctor and the models list say the same numbers.
import type { ModelFileDevice, ModelResidency, StorageDevice } from '../api'
import { formatSeconds } from '../format'

export interface LoadEstimate {
  /** Seconds to read the whole model from its devices; null when a device's bandwidth is unknown */
  coldSeconds: number | null
  /** Seconds to read what is not in RAM now; null when a bandwidth is unknown */
  nowSeconds: number | null
  bytes: number
  /** Bytes not in the page cache now (unknown residency counts as not resident) */
  toReadBytes: number
  /** Bytes whose residency the kernel would not tell */
  unknownBytes: number
  /** Devices (keys) holding the model whose bandwidth was never measured */
  unmeasured: string[]
  /** Names of the devices the model reads from, for people */
  deviceNames: string[]
}

export function estimateLoad(
  files: readonly ModelFileDevice[],
  residency: ModelResidency | undefined,
  devices: ReadonlyMap<string, StorageDevice>,
): LoadEstimate {
  const resident = new Map(residency?.files.map((f) => [f.path, f]))
  let cold = 0
  let now = 0
  let bytes = 0
  let toRead = 0
  let unknownBytes = 0
  const unmeasured = new Set<string>()
  const names = new Set<string>()
  for (const f of files) {
    bytes += f.bytes
    const r = resident.get(f.path)
    const known = r !== undefined && r.residentBytes !== null
    // A RAM-disk copy is read from RAM whatever the page cache says about the original.
    const missing = r?.staged ? 0 : known ? Math.max(0, f.bytes - r.residentBytes!) : f.bytes
    if (!known && !r?.staged) unknownBytes += f.bytes
    toRead += missing
    const d = f.device ? devices.get(f.device) : undefined
    if (d) names.add(d.name)
    if (r?.staged || d?.kind === 'ram') continue
    const bw = d?.bytesPerSec ?? null
    if (bw === null || bw <= 0) {
      unmeasured.add(f.device ?? f.path)
      continue
    }
    cold += f.bytes / bw
    now += missing / bw
  }
  const measured = unmeasured.size === 0
  return {
    coldSeconds: measured ? cold : null,
    nowSeconds: measured ? now : null,
    bytes,
    toReadBytes: toRead,
    unknownBytes,
    unmeasured: [...unmeasured],
    deviceNames: [...names],
  }
}

/** "cold ≈ 42 s from sda, now ≈ 3 s" — the sentence the issue asks for. */
export function describeLoad(e: LoadEstimate): string {
  const from = e.deviceNames.length > 0 ? ` from ${e.deviceNames.join(' + ')}` : ''
  if (e.coldSeconds === null) return `no read bandwidth measured yet for ${e.deviceNames.join(' + ') || 'its disk'}: run a read test`
  return `cold ≈ ${formatSeconds(e.coldSeconds)}${from}, now ≈ ${formatSeconds(e.nowSeconds)}`
}
