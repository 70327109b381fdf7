// What the global setup hands to the tests: the running server and the home it serves.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ExpectedModel } from '../../test/fixtures/model-home'
import { repoRoot } from './serve'

export const stateFile = join(repoRoot, 'test-results', 'e2e-state.json')

export interface E2eState {
  url: string
  home: string
  dir: string
  models: ExpectedModel[]
}

export function e2eState(): E2eState {
  return JSON.parse(readFileSync(stateFile, 'utf8')) as E2eState
}
