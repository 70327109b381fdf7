import type { HearthApi } from '../../shared/api'
import type { Context } from '../context'

type ResidencyApi = Pick<HearthApi, 'residency' | 'modelResidency' | 'heatStrip'>

export function residencyApi(ctx: Context): ResidencyApi {
  return {
    async residency(input) {
      const targets = input?.targets ?? []
      const files =
        targets.length > 0
          ? await ctx.catalog.resolve(targets)
          : ctx.catalog.current().models.flatMap((m) => m.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: m.id })))
      return ctx.residency.ofFiles(files)
    },
    modelResidency: () => ctx.residency.ofModels(),
    heatStrip: (input) => ctx.residency.heatStrip(input.path, input.buckets),
  }
}
