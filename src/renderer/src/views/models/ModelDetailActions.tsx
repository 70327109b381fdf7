import type { Model } from '../../../../shared/api'

/**
 * The actions in a model's detail header (warm, evict, lock, stage, plan …). A plug-in point for
 * the jobs, staging and planner views.
 */
export function ModelDetailActions(_props: { model: Model }) {
  return null
}
