// The live tensor map of one model: refreshed while it is on screen (and the window visible),
// spaced so measuring never takes more than a twentieth of the time.
import { useEffect, useMemo, useRef, useState } from 'react'
import type { TensorMap } from '../../../../shared/api'
import { formatBytes, formatPercent } from '../../../../shared/format'
import { buildGrid } from '../../../../shared/tensors/grid'
import { Panel } from '../../components/Card'
import { hearth } from '../../hearth'
import { TensorGrid } from './TensorGrid'

/** Whether the element is on screen and the page visible. */
function useVisible(el: React.RefObject<HTMLElement | null>): boolean {
  const [onScreen, setOnScreen] = useState(true)
  const [pageVisible, setPageVisible] = useState(document.visibilityState === 'visible')
  useEffect(() => {
    const node = el.current
    const io = node ? new IntersectionObserver(([e]) => setOnScreen(e.isIntersecting)) : null
    if (node) io!.observe(node)
    const onVis = () => setPageVisible(document.visibilityState === 'visible')
    document.addEventListener('visibilitychange', onVis)
    return () => {
      io?.disconnect()
      document.removeEventListener('visibilitychange', onVis)
    }
  }, [el])
  return onScreen && pageVisible
}

export function TensorMapPanel({ target }: { target: string }) {
  const box = useRef<HTMLDivElement>(null)
  const visible = useVisible(box)
  const [map, setMap] = useState<TensorMap | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    if (!visible) return
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = () => {
      hearth()
        .tensorMap({ target, experts: true })
        .then(
          (m) => {
            if (stopped) return
            setMap(m)
            setError(null)
            // At least a second apart, and never measuring more than 5% of the time.
            timer = setTimeout(tick, Math.max(1000, m.measureMs * 20))
          },
          (e: unknown) => {
            if (stopped) return
            setError(e instanceof Error ? e.message : String(e))
            timer = setTimeout(tick, 5000)
          },
        )
    }
    tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [target, visible])

  const grid = useMemo(() => (map ? buildGrid(map.tensors, map.residentBytes, map.expertResident) : null), [map])
  const total = map?.files.reduce((a, f) => a + f.bytes, 0) ?? 0
  const resident = map?.files.reduce((a, f) => a + (f.residentBytes ?? 0), 0) ?? 0
  const unknown = map?.files.find((f) => f.unknownReason)?.unknownReason
  return (
    <div ref={box}>
      <Panel
        title="Tensors in RAM"
        right={
          map && (
            <span className="text-xs text-zinc-500 tabular-nums" data-testid="tensor-map-summary">
              {map.tensors.length} tensors · {map.blockCount} layers{map.expertCount ? ` · ${map.expertCount} experts` : ''} · {formatBytes(resident)} of {formatBytes(total)} ({formatPercent(total ? resident / total : 0)}) · live
            </span>
          )
        }
      >
        {error && <p className="text-sm text-red-600 dark:text-red-400" data-testid="tensor-map-error">{error}</p>}
        {unknown && <p className="mb-2 text-xs text-zinc-500">Unknown for some files: {unknown}</p>}
        {!map && !error && <p className="text-sm text-zinc-500">Reading the GGUF header…</p>}
        {grid && <TensorGrid grid={grid} />}
      </Panel>
    </div>
  )
}
