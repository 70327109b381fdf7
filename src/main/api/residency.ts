import type { FileResidency, HearthApi } from '../../shared/api'
import type { Context } from '../context'
import { readStagedMountPoints } from '../services/staging/mounts'

type ResidencyApi = Pick<HearthApi, 'residency' | 'modelResidency' | 'heatStrip'>

/** Marks files that carry a RAM-disk copy (from mountinfo: cheap, no helper needed). */
async function markStaged(files: FileResidency[]): Promise<FileResidency[]> {
  const staged = await readStagedMountPoints()
  if (staged.size === 0) return files
  return files.map((f) => (staged.has(f.path) ? { ...f, staged: true } : f))
}

export function residencyApi(ctx: Context): ResidencyApi {
  return {
    async residency(input) {
      const targets = input?.targets ?? []
      const files =
        targets.length > 0
          ? await ctx.catalog.resolve(targets)
          : ctx.catalog.current().models.flatMap((m) => m.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: m.id })))
      return markStaged(await ctx.residency.ofFiles(files))
    },
    async modelResidency() {
      const models = await ctx.residency.ofModels()
      const staged = await readStagedMountPoints()
      if (staged.size === 0) return models
      return models.map((m) => ({ ...m, files: m.files.map((f) => (staged.has(f.path) ? { ...f, staged: true } : f)) }))
    },
    heatStrip: (input) => ctx.residency.heatStrip(input.path, input.buckets),
  }
}
