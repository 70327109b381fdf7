import { useEffect } from 'react'
import { startStagingSync, useIsStaged } from './store'

/** "RAM disk" on a model whose files are staged (a tmpfs copy is mounted over them). */
export function RamDiskBadge({ modelId }: { modelId: string }) {
  useEffect(startStagingSync, [])
  const staged = useIsStaged(modelId)
  if (!staged) return null
  return (
    <span
      data-testid="ramdisk-badge"
      title="A RAM-disk copy is mounted over this model's files: every loader reads RAM, even with direct I/O"
      className="rounded bg-violet-100 px-1.5 py-0.5 text-[10px] font-semibold uppercase tracking-wide text-violet-700 dark:bg-violet-900/40 dark:text-violet-300"
    >
      RAM disk
    </span>
  )
}
