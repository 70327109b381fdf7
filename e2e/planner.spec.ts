// The planner's 6 GB two-model case: a 3B chat model and a 7B code model at Q4_K_M (real shapes,
// sparse GGUFs written here), the 3B fully on the GPU and the largest -ngl of the 7B that fits.
import { expect, test, type Locator, type Page } from '@playwright/test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf } from '../test/helpers/gguf-writer'
import { llamaShape, qwen2Shape } from '../test/helpers/model-shapes'
import { watchErrors } from './support/page'
import { repoRoot } from './support/serve'
import { e2eState } from './support/state'

const shots = join(repoRoot, 'e2e', 'screenshots')
let dir: string
let chat: string
let code: string

test.beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  dir = mkdtempSync(join(tmpdir(), 'hearth-e2e-plan-'))
  chat = (await writeGguf(join(dir, 'Qwen2.5-3B-Instruct-Q4_K_M.gguf'), { ...qwen2Shape({ name: 'Qwen2.5 3B Instruct', layers: 36, embd: 2048, heads: 16, headsKv: 2, ff: 11008, vocab: 151936, fileType: 'Q4_K_M', contextLength: 32768 }), sparse: true })).path
  code = (await writeGguf(join(dir, 'Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf'), { ...llamaShape({ name: 'Qwen2.5 Coder 7B Instruct', layers: 28, embd: 3584, heads: 28, headsKv: 4, ff: 18944, vocab: 152064, fileType: 'Q4_K_M', contextLength: 32768 }), sparse: true })).path
})
test.afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Adds the two models by path; the chat model gets every layer, the code model keeps "max that fits". */
async function addChatAndCode(page: Page): Promise<Locator> {
  for (const p of [chat, code]) {
    await page.getByTestId('planner-path').fill(p)
    await page.getByTestId('planner-add').click()
  }
  const rows = page.getByTestId('planner-model')
  await expect(rows).toHaveCount(2)
  await rows.nth(0).getByTestId('ngl-max').uncheck()
  await rows.nth(0).getByLabel('GPU layers').fill('37')
  return rows
}

test('6 GB: 3B chat + 7B code, the largest -ngl of the 7B that fits', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(e2eState().url)
  await page.getByTestId('nav-planner').click()
  await expect(page.getByTestId('planner')).toBeVisible()
  await page.getByTestId('planner-card').selectOption('preset:NVIDIA RTX 4050 Laptop (6 GB)')
  const rows = await addChatAndCode(page)
  await expect(rows.nth(0).getByTestId('ngl-value')).toHaveText('37/37')
  await expect(page.getByTestId('plan-fits')).toHaveAttribute('data-fits', 'true')
  const ngl = await rows.nth(1).getByTestId('ngl-value').textContent()
  const n = Number(ngl?.split('/')[0])
  expect(n).toBeGreaterThan(0)
  expect(n).toBeLessThan(29)
  await expect(page.getByTestId('planner-export')).toContainText(`-ngl ${n}`)
  await page.screenshot({ path: join(shots, 'planner-6gb.png'), fullPage: true })
  console.log(`planner 6 GB case: 7B code model -ngl ${ngl}`)
  expect(errors).toEqual([])
})

test('two GPUs: 3B chat wholly on GPU 0, 7B code split over both, one stacked bar per card', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(e2eState().url)
  await page.getByTestId('nav-planner').click()
  await page.getByTestId('planner-card').selectOption('preset:NVIDIA RTX 4050 Laptop (6 GB)')
  await page.getByTestId('planner-add-gpu').click()
  await page.getByTestId('planner-card').nth(1).selectOption('preset:NVIDIA RTX 3060 (12 GB)')
  const rows = await addChatAndCode(page)
  await rows.nth(0).getByTestId('planner-placement').selectOption('0')
  await rows.nth(1).getByTestId('planner-placement').selectOption('split')
  await rows.nth(1).getByLabel('split ratio GPU 0').fill('1')
  await rows.nth(1).getByLabel('split ratio GPU 1').fill('2')
  await expect(page.getByTestId('vram-bar')).toHaveCount(2)
  await expect(page.getByTestId('gpu-plan').nth(0)).toContainText('GPU 0 · NVIDIA RTX 4050 Laptop (6 GB)')
  await expect(page.getByTestId('gpu-plan').nth(1)).toContainText('GPU 1 · NVIDIA RTX 3060 (12 GB)')
  await expect(page.getByTestId('multi-gpu-note')).toContainText('no multi-GPU machine was available to measure')
  await expect(page.getByTestId('plan-fits')).toHaveAttribute('data-fits', 'true')
  await expect(page.getByTestId('gpu-fits').nth(0)).toHaveAttribute('data-fits', 'true')
  await expect(page.getByTestId('gpu-fits').nth(1)).toHaveAttribute('data-fits', 'true')
  // The 7B's layers are on both cards; the 3B's only on GPU 0.
  await expect(page.getByTestId('gpu-plan').nth(0)).toContainText('Qwen2.5 Coder 7B Instruct')
  await expect(page.getByTestId('gpu-plan').nth(1)).toContainText('Qwen2.5 Coder 7B Instruct')
  await expect(page.getByTestId('gpu-plan').nth(1)).not.toContainText('Qwen2.5 3B Instruct')
  const exported = page.getByTestId('planner-export')
  await expect(exported).toContainText('CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 llama-server')
  await expect(exported).toContainText('CUDA_VISIBLE_DEVICES=0,1 llama-server')
  await expect(exported).toContainText('-sm layer -ts 1,2')
  const ngl = await rows.nth(1).getByTestId('ngl-value').textContent()
  await page.screenshot({ path: join(shots, 'planner-2gpu.png'), fullPage: true })
  console.log(`planner two GPUs: 7B code model split 1,2 -ngl ${ngl}`)
  expect(errors).toEqual([])
})
