// The GPUs panel with GPUs: `hearth serve` runs with a stub nvidia-smi first on its PATH
// (test/fixtures/nvidia-smi: two cards and a llama-server), so the real telemetry, attribution and
// planner see them; nothing else is faked. This machine has no GPU (see planner.spec for that state).
import { expect, test } from '@playwright/test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { chat3b, writeShape } from '../test/planner/written-shapes'
import { watchErrors } from './support/page'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'

const shots = join(repoRoot, 'e2e', 'screenshots')
let dir: string
let served: Served
let chat: string

test.beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-gpu-'))
  const home = join(dir, 'home')
  mkdirSync(home)
  chat = (await writeShape(dir, 'Qwen2.5-3B-Instruct-Q4_K_M.gguf', chat3b('Qwen2.5 3B Instruct'))).path
  const stub = join(repoRoot, 'test', 'fixtures', 'nvidia-smi', 'stub')
  served = await startServe(isolatedEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none'), PATH: `${stub}:${process.env.PATH}`, HEARTH_TEST_SMI: 'two-cards' }))
})
test.afterAll(async () => {
  await served?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('two GPUs from nvidia-smi: each card with its memory and processes, and the planner plans on both', async ({ page }) => {
  const errors = watchErrors(page)
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.goto(served.url)
  await page.getByTestId('nav-planner').click()
  const panel = page.getByTestId('gpu-panel')
  const cards = panel.getByTestId('gpu-card')
  await expect(cards).toHaveCount(2)
  await expect(panel.getByTestId('no-gpu')).toHaveCount(0)
  await expect(cards.nth(0).getByTestId('gpu-name')).toHaveText('NVIDIA GeForce RTX 4060 Ti')
  await expect(cards.nth(0)).toContainText('nvidia:0 · nvidia-smi')
  await expect(cards.nth(0).getByTestId('gpu-memory')).toHaveText('1.8 GiB of 16.0 GiB used · 7% busy')
  await expect(cards.nth(0).getByTestId('gpu-process')).toHaveText('llama-server (pid 4242): 1.5 GiB')
  await expect(cards.nth(1).getByTestId('gpu-name')).toHaveText('NVIDIA GeForce RTX 3060')
  await expect(cards.nth(1).getByTestId('gpu-memory')).toHaveText('0.3 GiB of 12.0 GiB used · 0% busy')
  await expect(cards.nth(1).getByTestId('gpu-process')).toHaveCount(0)
  // The llama-server nvidia-smi lists is checked against its plan; pid 4242 is not a llama-server
  // on this machine, so the check says why it cannot be made.
  await expect(panel.getByTestId('plan-check')).toHaveCount(1)
  await expect(panel.getByTestId('plan-check')).toContainText('cannot check:')

  // With no card picked, the planner plans on every detected card (free memory now).
  await page.getByTestId('planner-path').fill(chat)
  await page.getByTestId('planner-add').click()
  await expect(page.getByTestId('gpu-plan')).toHaveCount(2)
  await expect(page.getByTestId('gpu-plan').nth(0)).toContainText('GPU 0 · NVIDIA GeForce RTX 4060 Ti (free now)')
  await expect(page.getByTestId('gpu-plan').nth(1)).toContainText('GPU 1 · NVIDIA GeForce RTX 3060 (free now)')
  await expect(page.getByTestId('gpu-plan').nth(0)).toContainText('of 14.20 GiB')
  await expect(page.getByTestId('tok-s-formula')).toContainText('÷ 288 GB/s (GPU 0)')
  // The memory chart's tooltip is a dark card in the dark theme, not recharts' white box.
  await expect(cards.nth(0).locator('.recharts-line-curve')).toHaveCount(1, { timeout: 15_000 })
  const chart = await cards.nth(0).locator('.recharts-wrapper').boundingBox()
  await page.mouse.move(chart!.x + chart!.width * 0.7, chart!.y + chart!.height / 2)
  const tip = cards.nth(0).locator('.recharts-default-tooltip')
  await expect(tip).toBeVisible()
  expect(await tip.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(24, 24, 27)')
  await page.screenshot({ path: join(shots, 'planner-gpus.png'), fullPage: true })
  expect(errors).toEqual([])
})
