import { expect, test } from '@playwright/test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeGguf } from '../test/helpers/gguf-writer'
import { llamaShape } from '../test/helpers/model-shapes'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'
import { watchErrors } from './support/page'

// A HOME with no models at all: the page must say where Hearth looked and let the user add a folder.
let dir: string
let served: Served

test.beforeAll(async () => {
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-empty-'))
  const home = join(dir, 'home')
  mkdirSync(home)
  served = await startServe(isolatedEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'no-system-ollama') }))
})
test.afterAll(async () => {
  await served?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('empty state lists where Hearth looked, and adding a folder brings its model in', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  const empty = page.getByTestId('empty-state')
  await expect(empty).toBeVisible()
  await expect(empty.getByTestId('root').first()).toBeVisible()
  await expect(empty.getByTestId('root').filter({ hasText: join(dir, 'home', '.ollama') })).toContainText('not present')

  const form = empty.getByTestId('add-folder')
  await form.getByRole('textbox').fill(join(dir, 'nowhere'))
  await form.getByRole('button', { name: 'Add folder' }).click()
  await expect(form.getByRole('status')).toContainText(join(dir, 'nowhere'))

  const mine = join(dir, 'my models')
  mkdirSync(mine)
  await writeGguf(join(mine, 'tiny-llama Q4_0.gguf'), llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 2048, fileType: 'Q4_0', name: 'Tiny' }))
  await form.getByRole('textbox').fill(mine)
  await form.getByRole('button', { name: 'Add folder' }).click()
  await expect(page.getByTestId('model-row')).toHaveCount(1, { timeout: 15_000 })
  await expect(page.getByTestId('model-row')).toContainText('Your folder')
  // The failed add is expected to log nothing: errors are shown in the form, not thrown.
  expect(errors).toEqual([])
})
