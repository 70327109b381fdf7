import type { FileResidency, HearthApi } from '../../shared/api'
import type { Context } from '../context'
import { readStagedMountPoints } from '../services/staging/mounts'

type ResidencyApi = Pick<HearthApi, 'residency' | 'modelResidency' | 'heatStrip'>

/** Marks files that carry a RAM-disk copy (from mountinfo: cheap, no helper needed). */
function markStaged(files: FileResidency[], staged: Set<string>): FileResidency[] {
  return staged.size === 0 ? files : files.map((f) => (staged.has(f.path) ? { ...f, staged: true } : f))
}

export function residencyApi(ctx: Context): ResidencyApi {
  return {
    async residency(input) {
      const targets = input?.targets ?? []
      const files =
        targets.length > 0
          ? await ctx.catalog.resolve(targets)
          : ctx.catalog.current().models.flatMap((m) => m.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: m.id })))
      return markStaged(await ctx.residency.ofFiles(files), await readStagedMountPoints())
    },
    async modelResidency() {
      const [models, staged] = await Promise.all([ctx.residency.ofModels(), readStagedMountPoints()])
      return staged.size === 0 ? models : models.map((m) => ({ ...m, files: markStaged(m.files, staged) }))
    },
    heatStrip: (input) => ctx.residency.heatStrip(input.path, input.buckets),
  }
}
