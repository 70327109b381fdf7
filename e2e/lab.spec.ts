// The Lab view end to end: a real llama.cpp (the built-in loader) loads a generated model cold,
// warm and staged from the UI; the finished matrix shows as bars and a table, the charts carry the
// run's samples, and the JSON export holds every run. As root the server runs in a private mount
// namespace with the checkout's helper, so the staged run is real and its mounts die with it.
import { expect, test } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LabExperiment } from '../src/shared/api'
import { writeLoadableModel } from '../test/support/lab-setup'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'
import { watchErrors } from './support/page'

const shots = join(repoRoot, 'e2e', 'screenshots')
const root = process.getuid?.() === 0
let dir: string
let served: Served

test.beforeAll(async () => {
  if (root) execFileSync('make', ['-s', '-C', join(repoRoot, 'src/helper')])
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-lab-'))
  const home = join(dir, 'home')
  const models = join(dir, 'models')
  mkdirSync(join(home, '.config', 'hearth'), { recursive: true })
  mkdirSync(models)
  await writeLoadableModel(join(models, 'lab-demo Q8_0.gguf'), 'medium')
  writeFileSync(join(home, '.config', 'hearth', 'settings.json'), JSON.stringify({ folders: [models], stagingReserveBytes: 512 * 2 ** 20, lab: { tokens: 2 } }))
  served = await startServe(
    isolatedEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'no-system-ollama') }),
    30_000,
    root ? ['unshare', '-m', '--propagation', 'private'] : [],
  )
})
test.afterAll(async () => {
  await served?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('the run button says why it is off, and reads in the dark theme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.goto(served.url)
  await page.getByTestId('nav-lab').click()
  const run = page.getByTestId('lab-run')
  await expect(run).toBeDisabled()
  await expect(page.getByTestId('lab-run-why')).toHaveText('Pick a model to load first.')
  // Solid colours, not a faded orange: the label keeps its contrast on the dark panel.
  expect(await run.evaluate((e) => getComputedStyle(e).opacity)).toBe('1')
  await page.getByTestId('lab-model').selectOption({ index: 1 })
  await expect(run).toBeEnabled()
  await expect(page.getByTestId('lab-run-why')).toHaveCount(0)
  for (const m of ['cold', 'warm', 'staged', 'locked']) await page.getByTestId(`lab-mode-${m}`).uncheck()
  await expect(page.getByTestId('lab-run-why')).toHaveText('Tick at least one mode of the matrix.')
})

test('a finished matrix: bars, the table, live charts, export', async ({ page }) => {
  test.setTimeout(600_000)
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.getByTestId('nav-lab').click()
  await expect(page.getByTestId('lab-loader-detail')).toContainText('node-llama-cpp')
  await page.getByTestId('lab-model').selectOption({ index: 1 })
  if (!root) await page.getByTestId('lab-mode-staged').uncheck()
  await page.getByTestId('lab-run').click()
  // Live: the running run's charts fill while it loads.
  await expect(page.getByTestId('lab-chart-residency')).toBeVisible({ timeout: 120_000 })
  const modes = root ? ['cold', 'warm', 'staged'] : ['cold', 'warm']
  await expect(page.getByTestId('lab-history-item').first()).toHaveAttribute('data-status', 'done', { timeout: 540_000 })
  const rows = page.getByTestId('lab-run-row')
  await expect(rows).toHaveCount(modes.length)
  for (const [i, m] of modes.entries()) {
    await expect(rows.nth(i)).toHaveAttribute('data-mode', m)
    await expect(rows.nth(i)).toHaveAttribute('data-status', 'done')
    await expect(rows.nth(i).getByTestId('lab-load-ms')).toHaveText(/\d+ (ms|s)/)
  }
  await expect(page.getByTestId('lab-bars')).toBeVisible()
  expect(Number(await page.getByTestId('lab-chart-reads').getAttribute('data-points'))).toBeGreaterThan(1)
  await rows.first().click() // the cold run: what it read from disk
  // The load-order recorder sits below the results, set to record this experiment's model.
  await expect(page.getByTestId('recordings').getByTestId('record-start')).toBeVisible()
  await page.evaluate(() => window.scrollTo(0, 0)) // the sticky header stays on top of a full-page shot
  await page.screenshot({ path: join(shots, 'lab.png'), fullPage: true })
  await page.setViewportSize({ width: 720, height: 1000 })
  await expect(page.getByTestId('lab-results')).toBeVisible()
  await page.screenshot({ path: join(shots, 'lab-720.png'), fullPage: true })
  await page.setViewportSize({ width: 1400, height: 1000 })

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('lab-export-json').click()])
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8')) as LabExperiment
  expect(exported.runs.map((r) => r.mode)).toEqual(modes)
  expect(exported.runs.every((r) => r.samples.length > 0 && r.pid !== null)).toBe(true)
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('lab-export-csv').click()])
  expect(readFileSync(await csv.path(), 'utf8').trim().split('\n')).toHaveLength(modes.length + 1)
  expect(errors).toEqual([])
})
