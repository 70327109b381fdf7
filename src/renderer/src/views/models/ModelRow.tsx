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
import { useListLayout } from './list-layout'
import { LoadTimeCell } from '../doctor/LoadTimeCell'

/** The only part of a row that moves at 1 Hz: it alone subscribes to the model's residency. */
function ResidencyCell({ id, narrow }: { id: string; narrow: boolean }) {
  return (
    <>
      <ResidencyBar residency={useModelResidency(id)} narrow={narrow} stacked={!narrow} />
      <RowJobProgress modelId={id} />
    </>
  )
}

/**
 * One model. Selects its own model from the store; its residency cell selects its own numbers,
 * so a 1 Hz residency push re-renders only the cells whose numbers changed, never the table.
 * Its cells follow ModelList's columns; in the narrow layout the format sits under the name.
 */
export const ModelRow = memo(function ModelRow({ id }: { id: string }) {
  const model = useModel(id)
  const navigate = useUi((s) => s.navigate)
  const narrow = useListLayout() === 'narrow'
  if (!model) return null
  const otherTags = model.tags?.filter((t) => t !== model.name) ?? []
  const subline = [...(narrow ? [formatLabel(model)] : []), ...otherTags].join(' · ')
  return (
    <tr data-testid="model-row" data-model-id={id} className="border-t border-zinc-100 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/50">
      {/* The name has the first line to itself; badges, the RAM-disk mark and the format (narrow)
          or tags share the second. overflow-hidden: nothing here spills over the source column. */}
      <td className="overflow-hidden py-2 pr-3 pl-4">
        <button
          type="button"
          onClick={() => navigate({ view: 'dashboard', modelId: id })}
          className="block max-w-full truncate text-left font-medium text-zinc-900 hover:underline dark:text-zinc-100"
          title={model.name}
          data-testid="model-name"
        >
          {model.name}
        </button>
        <div className="flex min-w-0 items-center gap-1.5">
          <ModelJobBadges modelId={id} iconsOnly={narrow} />
          <RamDiskBadge modelId={id} />
          {subline && (
            <span className="min-w-0 truncate text-xs text-zinc-500" title={subline} data-testid="model-subline">
              {subline}
            </span>
          )}
        </div>
      </td>
      <td className="truncate px-3 py-2 text-sm whitespace-nowrap text-zinc-600 dark:text-zinc-400" title={sourceLabel[model.source]} data-testid="model-source">
        {sourceLabel[model.source]}
      </td>
      <td className="px-3 py-2 text-right text-sm whitespace-nowrap tabular-nums" data-testid="model-bytes" data-bytes={model.bytes}>
        {formatBytes(model.bytes)}
      </td>
      {!narrow && <td className="truncate px-3 py-2 text-sm whitespace-nowrap text-zinc-600 dark:text-zinc-400" title={formatLabel(model)}>{formatLabel(model)}</td>}
      <td className="px-3 py-2">
        <ResidencyCell id={id} narrow={narrow} />
      </td>
      <td className="px-3 py-2 text-right">
        <LoadTimeCell id={id} />
      </td>
      <td className={`py-2 text-right whitespace-nowrap ${narrow ? 'pr-3 pl-1' : 'pr-4 pl-2'}`}>
        <ModelRowActions model={model} />
      </td>
    </tr>
  )
})
