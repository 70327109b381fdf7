import type { Model } from '../../../../shared/api'
import { StageButtons } from '../staging/StageButtons'

/**
 * The actions in a model's detail header (warm, evict, lock, stage, plan …). A plug-in point for
 * the jobs, staging and planner views.
 */
export function ModelDetailActions(props: { model: Model }) {
  return <StageButtons model={props.model} />
}
