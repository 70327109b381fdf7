import { HearthError, type HearthApi } from '../../shared/api'
import type { Context } from '../context'

type JobsApi = Pick<HearthApi, 'jobs' | 'cancelJob'>

// Replaced by the jobs service (warm/evict/lock) when it lands; until then there are no jobs.
export function jobsApi(_ctx: Context): JobsApi {
  return {
    jobs: async () => [],
    cancelJob: async (input) => {
      throw new HearthError('NOT_FOUND', `no job ${input.id}; list jobs with \`hearth jobs\``)
    },
  }
}
