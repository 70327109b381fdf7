import { useEffect, useRef, useState } from 'react'
import type { HeatStrip as HeatStripData } from '../../../shared/api'
import { formatPercent } from '../../../shared/format'
import { hearth } from '../hearth'

const buckets = 128
const refreshMs = 1000

/** Which parts of one file are in RAM, left to right in file order; refreshed every second. */
export function HeatStrip({ path }: { path: string }) {
  const [strip, setStrip] = useState<HeatStripData | null>(null)
  const [error, setError] = useState<string | null>(null)
  const canvas = useRef<HTMLCanvasElement>(null)

  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    // Chained, not setInterval: a slow disk never stacks requests up.
    const tick = () => {
      hearth()
        .heatStrip({ path, buckets })
        .then(
          (s) => {
            if (stopped) return
            setStrip(s)
            setError(null)
          },
          (e: unknown) => !stopped && setError(e instanceof Error ? e.message : String(e)),
        )
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, refreshMs)
        })
    }
    tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [path])

  useEffect(() => {
    const c = canvas.current
    if (!c || !strip) return
    const dpr = window.devicePixelRatio || 1
    const w = c.clientWidth
    const h = c.clientHeight
    c.width = Math.round(w * dpr)
    c.height = Math.round(h * dpr)
    const g = c.getContext('2d')
    if (!g) return
    g.scale(dpr, dpr)
    const dark = document.documentElement.classList.contains('dark')
    g.fillStyle = dark ? '#27272a' : '#e4e4e7'
    g.fillRect(0, 0, w, h)
    const n = strip.buckets.length
    strip.buckets.forEach((f, i) => {
      if (f <= 0) return
      g.fillStyle = `rgba(16, 185, 129, ${0.25 + 0.75 * f})`
      const x0 = Math.floor((i / n) * w)
      const x1 = Math.floor(((i + 1) / n) * w)
      g.fillRect(x0, 0, Math.max(1, x1 - x0), h)
    })
  }, [strip])

  if (error && !strip) {
    return <div className="bar-unknown flex h-4 items-center rounded px-2 text-[11px] text-zinc-600 dark:text-zinc-300" title={error}>unknown: {error}</div>
  }
  const fraction = strip && strip.bytes > 0 ? strip.residentBytes / strip.bytes : 0
  return (
    <div className="flex items-center gap-2">
      <canvas
        ref={canvas}
        className="h-4 w-full min-w-32 rounded"
        data-testid="heat-strip"
        data-resident-bytes={strip?.residentBytes ?? ''}
        aria-label={strip ? `${formatPercent(fraction)} of this file in RAM` : 'loading'}
      />
    </div>
  )
}
