import { z } from 'zod'
import { pathString, query, targetList } from './define'

export type ResidencyMethod = 'cachestat' | 'mincore' | 'helper'

export interface FileResidency {
  path: string
  bytes: number
  /** null when it cannot be known for this user (see unknownReason) */
  residentBytes: number | null
  unknownReason?: string
  method?: ResidencyMethod
  /** Model the file belongs to, when it is in the catalog */
  modelId?: string
  /** Set when a RAM-disk copy is bind-mounted over this file */
  staged?: boolean
}

export interface ModelResidency {
  modelId: string
  bytes: number
  /** Sum over the files whose residency is known */
  residentBytes: number
  /** Bytes of files whose residency is unknown (permission) */
  unknownBytes: number
  unknownReason?: string
  files: FileResidency[]
}

export interface ResidencyUpdate {
  atMs: number
  /** Only the models whose residency changed since the last push (all of them on the first) */
  models: ModelResidency[]
}

export interface HeatStrip {
  path: string
  bytes: number
  residentBytes: number
  /** Fraction resident (0..1) of each of N equal slices of the file, in file order */
  buckets: number[]
}

export const residencyMethods = {
  /** Per-file residency of the given models or paths (all catalog models when empty). */
  residency: query<FileResidency[]>()(
    z.object({ targets: targetList.optional() }).strict().optional(),
  ),
  /** Residency of every catalog model. */
  modelResidency: query<ModelResidency[]>()(z.object({}).strict().optional()),
  heatStrip: query<HeatStrip>()(
    z
      .object({
        path: pathString(),
        buckets: z.number().int().min(1, 'buckets must be at least 1').max(4096, 'buckets must be at most 4096'),
      })
      .strict(),
  ),
}

export interface ResidencyTopics {
  residency: ResidencyUpdate
}
