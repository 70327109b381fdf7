// One file of a recording as a heat strip at a replay's moment: file order left to right, the
// pages that arrived in the shown sample in amber.
import type { PageRun } from '../../../../shared/api'
import { PathText } from '../../components/PathText'
import { useIsDark } from '../../components/ThemeToggle'
import { flashColor, heatColor, useCanvas } from './draw'

export function ReplayStrip({ fractions, pages, added, file, label }: { fractions: number[]; pages: number; added: PageRun[]; file: number; label?: string }) {
  const dark = useIsDark()
  const canvas = useCanvas(
    (g, w, h) => {
      g.fillStyle = heatColor(0, dark)
      g.fillRect(0, 0, w, h)
      const n = fractions.length
      fractions.forEach((f, i) => {
        if (f <= 0) return
        const x0 = Math.floor((i / n) * w)
        const x1 = Math.floor(((i + 1) / n) * w)
        g.fillStyle = heatColor(f, dark)
        g.fillRect(x0, 0, Math.max(1, x1 - x0), h)
      })
      g.fillStyle = flashColor
      for (const [f, first, count] of added) {
        if (f !== file || pages <= 0) continue
        const x0 = Math.floor((first / pages) * w)
        const x1 = Math.ceil(((first + count) / pages) * w)
        g.fillRect(x0, 0, Math.max(2, x1 - x0), h)
      }
    },
    [fractions, pages, added, file, dark],
  )
  return (
    <div className="space-y-0.5">
      {label && <PathText path={label} className="text-zinc-500" />}
      <canvas ref={canvas} className="h-5 w-full rounded" data-testid="replay-strip" aria-label="the file's pages in RAM at this moment, in file order" />
    </div>
  )
}
