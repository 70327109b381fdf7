import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type StagingApi = Pick<
  HearthApi,
  'privilegeStatus' | 'stagingStatus' | 'stage' | 'unstage' | 'offPreview' | 'off' | 'inotifyStatus' | 'inotifyFix'
>

export function stagingApi(ctx: Context): StagingApi {
  const s = ctx.staging
  return {
    privilegeStatus: async () => s.privilege(),
    stagingStatus: () => s.status(),
    stage: (input) => s.stage(input.targets),
    unstage: (input) => s.unstage(input.targets, input.lazy ?? false),
    offPreview: () => s.offPreview(),
    off: () => s.off(),
    inotifyStatus: () => s.inotifyStatus(),
    inotifyFix: (input) => s.inotifyFix(input ?? {}),
  }
}
