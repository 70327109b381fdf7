import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type JobsApi = Pick<
  HearthApi,
  'jobs' | 'cancelJob' | 'warmPlan' | 'warm' | 'evict' | 'lock' | 'unlock' | 'locks' | 'pin' | 'unpin' | 'pins'
>

export function jobsApi(ctx: Context): JobsApi {
  return {
    jobs: async () => ctx.jobs.list(),
    cancelJob: async (input) => ctx.jobs.cancel(input.id),
    warmPlan: (input) => ctx.warm.plan(input.targets),
    warm: (input) => ctx.warm.warm(input.targets, { force: input.force, idle: input.idle, lowCpu: input.lowCpu }),
    evict: (input) => ctx.warm.evict(input.targets),
    lock: (input) => ctx.warm.lock(input.targets),
    unlock: (input) => ctx.warm.unlock(input.targets),
    locks: async () => ctx.warm.locks(),
    pin: (input) => ctx.warm.pin(input.model),
    unpin: (input) => ctx.warm.unpin(input.model),
    pins: async () => ctx.warm.pins(),
  }
}
