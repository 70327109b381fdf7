// The independent residency referee for the tensor map and recorder tests: mincore(2) from
// python3 through ctypes (test/children/mincore-ranges.py), no Hearth code involved.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { PageRun } from '../../src/shared/contract/tensors'

const script = join(import.meta.dirname, '..', 'children', 'mincore-ranges.py')
// The system interpreter starts in 0.2 s; a pyenv shim first on PATH takes seconds.
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'

/** Whether python3 with ctypes runs here (tests that need the referee skip, saying so, when not). */
export const hasPython = spawnSync(python, ['-c', 'import ctypes']).status === 0

export interface RefereeAnswer {
  pages: number
  residentPages: number
  /** Per range asked: resident bytes (partial pages count their overlap), resident and spanned pages */
  ranges: { residentBytes: number; residentPages: number; pages: number }[]
}

export function refereeRanges(path: string, ranges: [number, number][]): RefereeAnswer {
  return JSON.parse(execFileSync(python, [script, path], { input: JSON.stringify(ranges), encoding: 'utf8', maxBuffer: 64 << 20 })) as RefereeAnswer
}

/** The file's resident pages as runs [0, first page, count] (file index 0, as a recording has them). */
export function refereeRuns(path: string): PageRun[] {
  const out = JSON.parse(execFileSync(python, [script, path, '--runs'], { input: '[]', encoding: 'utf8', maxBuffer: 256 << 20 })) as { runs: [number, number][] }
  return out.runs.map(([first, n]) => [0, first, n])
}
