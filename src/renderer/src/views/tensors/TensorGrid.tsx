// Layers × tensor kinds: how much of each kind of each layer is in RAM (live, or at a replay's
// moment), the model-wide tensors beside it, and for MoE models experts × layers.
import { useMemo, useState } from 'react'
import type { TensorKind } from '../../../../shared/api'
import { formatBytes, formatPercent } from '../../../../shared/format'
import { cellFraction, type GridCell, type TensorGrid as Grid } from '../../../../shared/tensors/grid'
import { useIsDark } from '../../components/ThemeToggle'
import { cellAt, flashColor, heatColor, useCanvas } from './draw'

const kindLabel: Record<TensorKind, string> = {
  embeddings: 'embeddings',
  attention: 'attention',
  ffn: 'FFN',
  experts: 'experts',
  router: 'router',
  norm: 'norms',
  output: 'output',
  other: 'other',
}

const rowPx = 18

function cellText(c: GridCell | undefined): string {
  if (!c) return 'no tensors'
  const f = cellFraction(c)
  return f === null ? `unknown · ${formatBytes(c.bytes)}` : `${formatPercent(f)} of ${formatBytes(c.bytes)} in RAM`
}

/** Whether a cell gained resident bytes since `prev` (a replay step). */
const grew = (c: GridCell | undefined, p: GridCell | undefined) => (c?.residentBytes ?? 0) > (p?.residentBytes ?? 0)

function LayerAxis({ layers }: { layers: number }) {
  const step = layers <= 16 ? 1 : layers <= 40 ? 4 : layers <= 100 ? 8 : 16
  const ticks = Array.from({ length: Math.ceil(layers / step) }, (_, i) => i * step)
  return (
    <div className="relative h-4 text-[10px] text-zinc-500 tabular-nums">
      {ticks.map((l) => (
        <span key={l} className="absolute -translate-x-1/2" style={{ left: `${((l + 0.5) / layers) * 100}%` }}>
          {l}
        </span>
      ))}
    </div>
  )
}

export function TensorGrid({ grid, previous, testId = 'tensor-grid' }: { grid: Grid; previous?: Grid; testId?: string }) {
  const dark = useIsDark()
  const [hover, setHover] = useState<string | null>(null)
  const layers = grid.layers.length
  const rows = grid.kinds.length + 1 // the kinds, then all of the layer

  const canvas = useCanvas(
    (g, w) => {
      const cw = w / Math.max(1, layers)
      for (let l = 0; l < layers; l++) {
        for (let k = 0; k < rows; k++) {
          const cell = k < grid.kinds.length ? grid.layers[l][k] : grid.layerTotals[l]
          const prev = previous ? (k < grid.kinds.length ? previous.layers[l]?.[k] : previous.layerTotals[l]) : undefined
          const x = Math.floor(l * cw)
          const x1 = Math.floor((l + 1) * cw)
          const y = k * rowPx + (k === rows - 1 ? 2 : 0)
          g.fillStyle = cell ? heatColor(cellFraction(cell), dark) : 'transparent'
          g.fillRect(x, y, Math.max(1, x1 - x - (cw > 4 ? 1 : 0)), rowPx - 2)
          if (previous && grew(cell, prev)) {
            g.strokeStyle = flashColor
            g.lineWidth = 2
            g.strokeRect(x + 1, y + 1, Math.max(1, x1 - x - 3), rowPx - 4)
          }
        }
      }
    },
    [grid, previous, dark, layers, rows],
    rows * rowPx,
  )

  // "In" and "out" with a tenth of slack, as for experts below.
  const inLayers = grid.layerTotals.filter((c) => (cellFraction(c) ?? 0) >= 0.9).length
  const outLayers = grid.layerTotals.filter((c) => (cellFraction(c) ?? 1) <= 0.1).length
  return (
    <div className="space-y-2" data-testid={testId} data-layers={layers} data-kinds={grid.kinds.join(',')} data-in-layers={inLayers} data-out-layers={outLayers}>
      {grid.modelWide.length > 0 && (
        <div className="flex flex-wrap gap-2 text-xs">
          {grid.modelWide.map((m) => {
            const f = cellFraction(m.cell)
            return (
              <span key={m.kind} className="flex items-center gap-1.5 rounded border border-zinc-200 px-2 py-0.5 dark:border-zinc-700" title={m.names.join(', ')} data-testid="model-wide">
                <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ background: heatColor(f, dark) }} />
                {kindLabel[m.kind]} <span className="text-zinc-500 tabular-nums">{f === null ? 'unknown' : formatPercent(f)}</span>
              </span>
            )
          })}
        </div>
      )}
      {layers > 0 ? (
        <div className="grid grid-cols-[5.5rem_1fr] gap-x-2">
          <div className="text-right text-[11px] text-zinc-500">
            {grid.kinds.map((k) => (
              <div key={k} style={{ height: rowPx }} className="leading-[18px]">
                {kindLabel[k]}
              </div>
            ))}
            <div style={{ height: rowPx }} className="pt-0.5 leading-[18px] font-medium">whole layer</div>
          </div>
          <canvas
            ref={canvas}
            className="w-full cursor-crosshair"
            style={{ height: rows * rowPx }}
            aria-label={`${layers} layers by ${grid.kinds.length} tensor kinds; ${inLayers} layers in RAM, ${outLayers} out`}
            onMouseMove={(e) => {
              const at = cellAt(e, layers, rows)
              if (!at) return setHover(null)
              const cell = at.row < grid.kinds.length ? grid.layers[at.col][at.row] : grid.layerTotals[at.col]
              setHover(`blk.${at.col} · ${at.row < grid.kinds.length ? kindLabel[grid.kinds[at.row]] : 'whole layer'}: ${cellText(cell)}`)
            }}
            onMouseLeave={() => setHover(null)}
          />
          <div />
          <LayerAxis layers={layers} />
        </div>
      ) : (
        <p className="text-sm text-zinc-500">No layered tensors in this model.</p>
      )}
      <div className="flex flex-wrap items-center justify-between gap-2 text-xs text-zinc-500">
        <p className="h-4" data-testid="grid-hover">{hover ?? 'Columns are layers (blk.N); hover a cell for its figures.'}</p>
        <Legend dark={dark} flash={previous !== undefined} />
      </div>
      {grid.experts && grid.expertCount ? <ExpertGrid experts={grid.experts} count={grid.expertCount} previous={previous?.experts} /> : null}
    </div>
  )
}

function Legend({ dark, flash }: { dark: boolean; flash: boolean }) {
  const swatch = (color: string, label: string) => (
    <span className="flex items-center gap-1">
      <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ background: color }} />
      {label}
    </span>
  )
  return (
    <div className="flex items-center gap-2 text-[11px]">
      {swatch(heatColor(0, dark), '0%')}
      {swatch(heatColor(0.5, dark), '50%')}
      {swatch(heatColor(1, dark), '100% in RAM')}
      {swatch(heatColor(null, dark), 'unknown')}
      {flash && swatch(flashColor, 'arrived now')}
    </div>
  )
}

/** Experts (rows) × layers (columns): the share of each expert's gate/up/down pages in RAM. */
function ExpertGrid({ experts, count, previous }: { experts: number[][]; count: number; previous?: number[][] }) {
  const dark = useIsDark()
  const [hover, setHover] = useState<string | null>(null)
  const layers = experts.length
  const cellH = Math.max(2, Math.min(10, Math.floor(320 / count)))
  const stats = useMemo(() => {
    // "In" and "out" with a tenth of slack: a slice shares its edge pages with its neighbours, and
    // the kernel drops a few pages of a file now and then.
    let inRam = 0
    let out = 0
    for (const row of experts) {
      for (const f of row) {
        if (f >= 0.9) inRam++
        else if (f <= 0.1) out++
      }
    }
    return { inRam, out }
  }, [experts])

  const canvas = useCanvas(
    (g, w) => {
      const cw = w / Math.max(1, layers)
      for (let l = 0; l < layers; l++) {
        const x = Math.floor(l * cw)
        const x1 = Math.floor((l + 1) * cw)
        for (let e = 0; e < count; e++) {
          const f = experts[l]?.[e] ?? 0
          g.fillStyle = previous && f > (previous[l]?.[e] ?? 0) ? flashColor : heatColor(f, dark)
          g.fillRect(x, e * cellH, Math.max(1, x1 - x - (cw > 4 ? 1 : 0)), Math.max(1, cellH - (cellH > 3 ? 1 : 0)))
        }
      }
    },
    [experts, previous, dark, layers, count, cellH],
    count * cellH,
  )

  return (
    <div className="space-y-1" data-testid="expert-grid" data-experts={count} data-in-cells={stats.inRam} data-out-cells={stats.out}>
      <div className="text-xs font-medium text-zinc-600 dark:text-zinc-300">
        Experts × layers <span className="font-normal text-zinc-500">— each row one expert, each column a layer: the share of that expert&apos;s gate, up and down matrices in RAM</span>
      </div>
      <div className="grid grid-cols-[5.5rem_1fr] gap-x-2">
        <div className="relative text-right text-[10px] text-zinc-500" style={{ height: count * cellH }}>
          <span className="absolute top-0 right-0">expert 0</span>
          <span className="absolute right-0 bottom-0">{count - 1}</span>
        </div>
        <canvas
          ref={canvas}
          className="w-full cursor-crosshair"
          style={{ height: count * cellH }}
          aria-label={`${count} experts by ${layers} layers; ${stats.inRam} expert slices in RAM, ${stats.out} out`}
          onMouseMove={(e) => {
            const at = cellAt(e, layers, count)
            setHover(at ? `blk.${at.col} expert ${at.row}: ${formatPercent(experts[at.col]?.[at.row] ?? 0)} in RAM` : null)
          }}
          onMouseLeave={() => setHover(null)}
        />
        <div />
        <LayerAxis layers={layers} />
      </div>
      <p className="h-4 text-xs text-zinc-500">{hover ?? `${stats.inRam} of ${layers * count} expert slices at least 90% in RAM, ${stats.out} under 10%.`}</p>
    </div>
  )
}
