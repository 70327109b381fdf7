// Canvas helpers shared by the tensor grid, the expert grid and the replay strip.
import { useEffect, useRef, type DependencyList } from 'react'

/** Sizes the canvas to its CSS box at the device's pixel ratio; returns a context in CSS pixels. */
export function fitCanvas(c: HTMLCanvasElement, heightCss?: number): { g: CanvasRenderingContext2D; w: number; h: number } | null {
  const dpr = window.devicePixelRatio || 1
  const w = c.clientWidth
  const h = heightCss ?? c.clientHeight
  c.width = Math.max(1, Math.round(w * dpr))
  c.height = Math.max(1, Math.round(h * dpr))
  const g = c.getContext('2d')
  if (!g) return null
  g.setTransform(dpr, 0, 0, dpr, 0, 0)
  return { g, w, h }
}

/** The residency colour scale of the heat strips: grey when none, emerald growing with the share. */
export function heatColor(fraction: number | null, dark: boolean): string {
  if (fraction === null) return dark ? '#3f3f46' : '#d4d4d8'
  if (fraction <= 0) return dark ? '#27272a' : '#e4e4e7'
  return `rgba(16, 185, 129, ${0.25 + 0.75 * Math.min(1, fraction)})`
}

/** Pages that just arrived (replay): amber over the heat colour. */
export const flashColor = 'rgba(245, 158, 11, 0.95)'

/** Cell index under a mouse event on a canvas split into cols × rows. */
export function cellAt(e: { clientX: number; clientY: number; currentTarget: HTMLCanvasElement }, cols: number, rows: number): { col: number; row: number } | null {
  const r = e.currentTarget.getBoundingClientRect()
  const col = Math.floor(((e.clientX - r.left) / r.width) * cols)
  const row = Math.floor(((e.clientY - r.top) / r.height) * rows)
  return col >= 0 && col < cols && row >= 0 && row < rows ? { col, row } : null
}

/**
 * A canvas drawn by `paint` (in CSS pixels, at the device's pixel ratio) whenever deps change or
 * the canvas is resized; `heightCss` fixes its height, else its CSS box decides.
 */
export function useCanvas(paint: (g: CanvasRenderingContext2D, w: number, h: number) => void, deps: DependencyList, heightCss?: number) {
  const canvas = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const c = canvas.current
    if (!c) return
    const draw = () => {
      const fit = fitCanvas(c, heightCss)
      if (fit) paint(fit.g, fit.w, fit.h)
    }
    draw()
    const ro = new ResizeObserver(draw)
    ro.observe(c)
    return () => ro.disconnect()
    // paint is a fresh closure each render; deps say when it draws something else.
  }, [...deps, heightCss])
  return canvas
}
