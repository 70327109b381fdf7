import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type LabApi = Pick<HearthApi, 'labStatus' | 'labRun' | 'labCancel' | 'labPressure' | 'labPressureRelease' | 'labSettings'>

export function labApi(ctx: Context): LabApi {
  const lab = ctx.lab
  return {
    labStatus: () => lab.status(),
    labRun: (input) => lab.run(input),
    labCancel: async (input) => lab.cancel(input.id),
    labPressure: (input) => lab.pressure(input.leaveBytes),
    labPressureRelease: () => lab.releasePressure(),
    labSettings: (input) => lab.updateSettings(input),
  }
}
