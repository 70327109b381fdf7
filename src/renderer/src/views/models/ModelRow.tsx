import { memo } from 'react'
import { formatBytes } from '../../../../shared/format'
import { ResidencyBar } from '../../components/ResidencyBar'
import { useModel } from '../../stores/catalog'
import { useModelResidency } from '../../stores/residency'
import { useUi } from '../../stores/ui'
import { ModelRowActions } from './ModelRowActions'
import { formatLabel, sourceLabel } from './describe'

/**
 * One model. Selects its own model and residency from the stores, so a 1 Hz residency push
 * re-renders only the rows whose numbers changed, never the table.
 */
export const ModelRow = memo(function ModelRow({ id }: { id: string }) {
  const model = useModel(id)
  const residency = useModelResidency(id)
  const navigate = useUi((s) => s.navigate)
  if (!model) return null
  return (
    <tr data-testid="model-row" data-model-id={id} className="border-t border-zinc-100 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/50">
      <td className="max-w-0 py-2 pr-3 pl-4">
        <button
          type="button"
          onClick={() => navigate({ view: 'dashboard', modelId: id })}
          className="block w-full truncate text-left font-medium text-zinc-900 hover:underline dark:text-zinc-100"
          title={model.name}
          data-testid="model-name"
        >
          {model.name}
        </button>
        {model.tags && model.tags.length > 0 && <div className="truncate text-xs text-zinc-500">{model.tags.join(', ')}</div>}
      </td>
      <td className="px-3 py-2 text-sm whitespace-nowrap text-zinc-600 dark:text-zinc-400">{sourceLabel[model.source]}</td>
      <td className="px-3 py-2 text-right text-sm whitespace-nowrap tabular-nums" data-testid="model-bytes" data-bytes={model.bytes}>
        {formatBytes(model.bytes)}
      </td>
      <td className="px-3 py-2 text-sm whitespace-nowrap text-zinc-600 dark:text-zinc-400">{formatLabel(model)}</td>
      <td className="w-80 px-3 py-2">
        <ResidencyBar residency={residency} />
      </td>
      <td className="py-2 pr-4 pl-2 text-right whitespace-nowrap">
        <ModelRowActions model={model} />
      </td>
    </tr>
  )
})
