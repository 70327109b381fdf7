import type { GpuDevice } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'

const gttMeaning = 'GTT: system RAM the GPU maps. On an APU (integrated Radeon) a model runs from here, not from VRAM.'

/** A process's GTT, shown after its VRAM figure (" + 24.1 GiB GTT"); nothing when it holds none. */
export function ProcessGtt({ bytes }: { bytes?: number }) {
  if (!bytes) return null
  return (
    <span data-testid="gpu-process-gtt" title={gttMeaning}>
      {' '}+ {formatBytes(bytes)} GTT
    </span>
  )
}

/** The card's GTT in use and its size (AMD), beside its name; nothing where the card has none. */
export function DeviceGtt({ gpu }: { gpu: GpuDevice }) {
  if (!gpu.gttTotalBytes) return null
  return (
    <span data-testid="gpu-gtt" className="text-xs font-normal text-zinc-500" title={gttMeaning}>
      {' '}· GTT {gpu.gttUsedBytes != null ? `${formatBytes(gpu.gttUsedBytes)} of ` : ''}
      {formatBytes(gpu.gttTotalBytes)}
    </span>
  )
}
