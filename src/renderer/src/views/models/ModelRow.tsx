import { memo } from 'react'
import { formatBytes } from '../../../../shared/format'
import { ResidencyBar } from '../../components/ResidencyBar'
import { RamDiskBadge } from '../staging/RamDiskBadge'
import { useModel } from '../../stores/catalog'
import { useModelResidency } from '../../stores/residency'
import { useUi } from '../../stores/ui'
import { RowJobProgress } from '../jobs/JobProgress'
import { ModelJobBadges } from '../jobs/ModelJobActions'
import { ModelRowActions } from './ModelRowActions'
import { formatLabel, sourceLabel } from './describe'
import { LoadTimeCell } from '../doctor/LoadTimeCell'

/** The only part of a row that moves at 1 Hz: it alone subscribes to the model's residency. */
function ResidencyCell({ id }: { id: string }) {
  return (
    <>
      <ResidencyBar residency={useModelResidency(id)} />
      <RowJobProgress modelId={id} />
    </>
  )
}

/**
 * One model. Selects its own model from the store; its residency cell selects its own numbers,
 * so a 1 Hz residency push re-renders only the cells whose numbers changed, never the table.
 */
export const ModelRow = memo(function ModelRow({ id }: { id: string }) {
  const model = useModel(id)
  const navigate = useUi((s) => s.navigate)
  if (!model) return null
  const otherTags = model.tags?.filter((t) => t !== model.name) ?? []
  return (
    <tr data-testid="model-row" data-model-id={id} className="border-t border-zinc-100 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/50">
      <td className="max-w-0 py-2 pr-3 pl-4">
        <div className="flex min-w-0 items-center">
          <button
            type="button"
            onClick={() => navigate({ view: 'dashboard', modelId: id })}
            className="block min-w-0 truncate text-left font-medium text-zinc-900 hover:underline dark:text-zinc-100"
            title={model.name}
            data-testid="model-name"
          >
            {model.name}
          </button>
          <ModelJobBadges modelId={id} />
        </div>
        {otherTags.length > 0 && <div className="truncate text-xs text-zinc-500">{otherTags.join(', ')}</div>}
        <RamDiskBadge modelId={id} />
      </td>
      <td className="px-3 py-2 text-sm whitespace-nowrap text-zinc-600 dark:text-zinc-400">{sourceLabel[model.source]}</td>
      <td className="px-3 py-2 text-right text-sm whitespace-nowrap tabular-nums" data-testid="model-bytes" data-bytes={model.bytes}>
        {formatBytes(model.bytes)}
      </td>
      <td className="px-3 py-2 text-sm whitespace-nowrap text-zinc-600 dark:text-zinc-400">{formatLabel(model)}</td>
      <td className="w-80 px-3 py-2">
        <ResidencyCell id={id} />
      </td>
      <td className="px-3 py-2 text-right">
        <LoadTimeCell id={id} />
      </td>
      <td className="py-2 pr-4 pl-2 text-right whitespace-nowrap">
        <ModelRowActions model={model} />
      </td>
    </tr>
  )
})
