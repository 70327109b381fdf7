// A recording's state at a moment, for the replay and the comparison: the grid, the strips and
// what the shown sample added. Stepping forward applies one sample; jumping back replays.
import { useMemo, useRef } from 'react'
import type { PageRun, Recording } from '../../../../shared/api'
import { buildGrid, type TensorGrid } from '../../../../shared/tensors/grid'
import { Replay } from '../../../../shared/tensors/replay'

export interface ReplayFrame {
  grid: TensorGrid
  /** The grid one sample earlier when the frame is the next one (for the amber flashes) */
  previous?: TensorGrid
  strips: number[][]
  added: PageRun[]
  tMs: number
  residentBytes: number
}

export function useReplayFrame(rec: Recording, position: number): ReplayFrame {
  const replay = useMemo(() => new Replay(rec, 256), [rec])
  const last = useRef<{ rec: Recording; position: number; grid: TensorGrid } | null>(null)
  return useMemo(() => {
    replay.seek(position)
    const { tensors, pageBytes } = rec.header
    const grid = buildGrid(tensors, Array.from(replay.tensorResident), (i) => replay.expertFractions(i))
    const prev = last.current
    const previous = prev && prev.rec === rec && prev.position === position - 1 ? prev.grid : undefined
    last.current = { rec, position, grid }
    const sample = position >= 0 ? rec.samples[position] : undefined
    return {
      grid,
      previous,
      strips: rec.header.files.map((_, f) => replay.strip(f)),
      added: sample?.added ?? rec.initial.resident,
      tMs: sample?.tMs ?? 0,
      residentBytes: replay.residentPages * pageBytes,
    }
  }, [replay, rec, position])
}
