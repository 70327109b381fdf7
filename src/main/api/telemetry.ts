import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type TelemetryApi = Pick<HearthApi, 'memoryNow' | 'memoryHistory'>

export function telemetryApi(ctx: Context): TelemetryApi {
  return {
    memoryNow: () => ctx.telemetry.now(),
    memoryHistory: async (input) => ctx.telemetry.history(input?.sinceMs),
  }
}
