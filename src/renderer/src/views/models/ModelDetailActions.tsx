import type { Model } from '../../../../shared/api'
import { ModelJobActions } from '../jobs/ModelJobActions'
import { StageButtons } from '../staging/StageButtons'

/**
 * The actions in a model's detail header (warm, evict, lock, stage, plan …). A plug-in point for
 * the jobs, staging and planner views.
 */
export function ModelDetailActions(props: { model: Model }) {
  return (
    <div className="flex flex-wrap items-center gap-2">
      <ModelJobActions model={props.model} size="detail" />
      <StageButtons model={props.model} />
    </div>
  )
}
