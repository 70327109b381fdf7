// The layers × tensor kinds grid (and the layers × experts grid of MoE models) from per-tensor
// residency: what the live map and a replayed recording both draw, and `hearth tensors --layers`.
import type { TensorInfo, TensorKind } from '../contract/tensors'
import { gridKindOrder } from './classify'

export interface GridCell {
  bytes: number
  /** null when any of its tensors' residency is unknown */
  residentBytes: number | null
  tensors: number
}

export interface TensorGrid {
  /** Columns, in gridKindOrder, only the kinds present in layers */
  kinds: TensorKind[]
  /** layers[l][k] for kinds[k]; undefined where a layer has no tensor of that kind */
  layers: (GridCell | undefined)[][]
  /** Per layer, all kinds together */
  layerTotals: GridCell[]
  /** Tensors outside any layer (token_embd, output, output_norm …), by kind */
  modelWide: { kind: TensorKind; names: string[]; cell: GridCell }[]
  /** experts[l][e]: fraction (0..1) of expert e's pages in layer l that are resident; absent for dense models */
  experts?: number[][]
  expertCount?: number
}

const add = (c: GridCell | undefined, bytes: number, resident: number | null): GridCell => ({
  bytes: (c?.bytes ?? 0) + bytes,
  residentBytes: c && c.residentBytes === null ? null : resident === null ? null : (c?.residentBytes ?? 0) + resident,
  tensors: (c?.tensors ?? 0) + 1,
})

/**
 * Builds the grid. `resident[i]` is tensor i's resident bytes (null: unknown); `expertFractions[i]`
 * gives per-expert fractions for stacked expert tensors, combined per layer weighted by bytes.
 */
export function buildGrid(
  tensors: TensorInfo[],
  resident: (number | null)[],
  expertFractions?: Record<number, number[]> | ((i: number) => number[] | undefined),
): TensorGrid {
  const layerCount = Math.max(0, ...tensors.map((t) => (t.layer ?? -1) + 1))
  const present = new Set<TensorKind>()
  for (const t of tensors) if (t.layer !== null) present.add(t.kind)
  const kinds = gridKindOrder.filter((k) => present.has(k))
  const col = new Map(kinds.map((k, i) => [k, i]))
  const layers: (GridCell | undefined)[][] = Array.from({ length: layerCount }, () => new Array(kinds.length).fill(undefined))
  const layerTotals: GridCell[] = Array.from({ length: layerCount }, () => ({ bytes: 0, residentBytes: 0, tensors: 0 }))
  const wide = new Map<TensorKind, { names: string[]; cell: GridCell }>()
  const fractionsOf = typeof expertFractions === 'function' ? expertFractions : (i: number) => expertFractions?.[i]

  let expertCount = 0
  for (const t of tensors) if (t.experts && t.layer !== null) expertCount = Math.max(expertCount, t.experts)
  const expertSum = expertCount ? Array.from({ length: layerCount }, () => new Array<number>(expertCount).fill(0)) : undefined
  const expertWeight = expertCount ? new Array<number>(layerCount).fill(0) : undefined

  tensors.forEach((t, i) => {
    const r = resident[i] ?? null
    if (t.layer === null) {
      const w = wide.get(t.kind) ?? { names: [], cell: { bytes: 0, residentBytes: 0, tensors: 0 } }
      w.names.push(t.name)
      w.cell = add(w.cell.tensors ? w.cell : undefined, t.bytes, r)
      wide.set(t.kind, w)
      return
    }
    const c = col.get(t.kind)!
    layers[t.layer][c] = add(layers[t.layer][c], t.bytes, r)
    const tot = layerTotals[t.layer]
    layerTotals[t.layer] = add(tot.tensors ? tot : undefined, t.bytes, r)
    const f = t.experts ? fractionsOf(i) : undefined
    if (expertSum && expertWeight && t.experts && f) {
      for (let e = 0; e < Math.min(f.length, expertCount); e++) expertSum[t.layer][e] += f[e] * t.bytes
      expertWeight[t.layer] += t.bytes
    }
  })
  const grid: TensorGrid = {
    kinds,
    layers,
    layerTotals,
    modelWide: gridKindOrder.filter((k) => wide.has(k)).map((k) => ({ kind: k, ...wide.get(k)! })),
  }
  if (expertSum && expertWeight) {
    grid.expertCount = expertCount
    grid.experts = expertSum.map((row, l) => row.map((v) => (expertWeight[l] > 0 ? v / expertWeight[l] : 0)))
  }
  return grid
}

/** Fraction resident of a cell; null when unknown or empty. */
export function cellFraction(c: GridCell | undefined): number | null {
  if (!c || c.residentBytes === null || c.bytes <= 0) return null
  return Math.min(1, c.residentBytes / c.bytes)
}
