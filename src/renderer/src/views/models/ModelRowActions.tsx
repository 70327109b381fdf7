import type { Model } from '../../../../shared/api'
import { ModelJobActions } from '../jobs/ModelJobActions'

/**
 * The actions at the end of a model's row (warm, evict, lock, stage …). A plug-in point: the jobs
 * and staging views fill this in. Keep it cheap: it renders once per row, 200 rows at a time.
 */
export function ModelRowActions(props: { model: Model }) {
  return <ModelJobActions model={props.model} />
}
