// Builds Hearth when the build is missing or older than the sources, lays out a temp HOME with
// every model source (and every kind of bad input), and starts `hearth serve` on it.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { makeModelHome } from '../test/fixtures/model-home'
import { isolatedEnv, repoRoot, startServe } from './support/serve'
import { stateFile, type E2eState } from './support/state'

function newestMtimeMs(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs)
  }
  return newest
}

function buildIfStale(): void {
  const outputs = [join(repoRoot, 'out', 'main', 'cli.js'), join(repoRoot, 'out', 'renderer', 'index.html')]
  const builtAt = Math.min(...outputs.map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0)))
  if (builtAt > newestMtimeMs(join(repoRoot, 'src'))) return
  execFileSync('npx', ['electron-vite', 'build'], { cwd: repoRoot, stdio: 'inherit' })
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  buildIfStale()
  // Under the repo, not /tmp: /tmp may be a tmpfs, where evicting a file does nothing.
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  const dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-'))
  const home = await makeModelHome(dir, { bad: true })
  const served = await startServe(isolatedEnv(home.env))
  const state: E2eState = { url: served.url, home: home.home, dir, models: home.models }
  mkdirSync(dirname(stateFile), { recursive: true })
  writeFileSync(stateFile, JSON.stringify(state))
  return async () => {
    await served.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
