import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type DoctorApi = Pick<HearthApi, 'doctor' | 'doctorLast' | 'loadTimes' | 'readTest' | 'shareStatus'>

export function doctorApi(ctx: Context): DoctorApi {
  const d = ctx.doctor
  return {
    doctor: (input) => d.run(input?.model),
    doctorLast: async () => d.last(),
    loadTimes: () => d.loadTimes(),
    readTest: (input) => d.readTest(input.device),
    shareStatus: () => d.shareStatus(),
  }
}
