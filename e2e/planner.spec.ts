// The planner's 6 GB two-model case: a 3B chat model and a 7B code model at Q4_K_M (real shapes,
// sparse GGUFs written here): the 3B fully on the GPU and the largest -ngl of the 7B that fits;
// both free under each objective, with the plans weighed side by side.
import { expect, test, type Locator, type Page } from '@playwright/test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chat3b, code7b, writeShape } from '../test/planner/written-shapes'
import { planModels, type ModelShape, type PlanModelInput, type PlanObjective } from '../src/shared/planner'
import { watchErrors } from './support/page'
import { repoRoot } from './support/serve'
import { e2eState } from './support/state'

const shots = join(repoRoot, 'e2e', 'screenshots')
const card = 'NVIDIA RTX 4050 Laptop (6 GB)'
let dir: string
let chat: string
let code: string
const shapes: Record<string, ModelShape> = {}

test.beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  dir = mkdtempSync(join(tmpdir(), 'hearth-e2e-plan-'))
  const write = async (file: string, spec: Parameters<typeof writeShape>[2]) => {
    const s = await writeShape(dir, file, spec)
    shapes[s.path] = s
    return s.path
  }
  chat = await write('Qwen2.5-3B-Instruct-Q4_K_M.gguf', chat3b('Qwen2.5 3B Instruct'))
  code = await write('Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf', code7b('Qwen2.5 Coder 7B Instruct'))
})
test.afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * What the planner computes for the same files, flags and card (the UI's defaults: -c 4096, f16 KV,
 * flash attention, one slot; the serve process has no measured host bandwidth).
 */
function expected(ngl: [number | 'max', number | 'max'], objective: PlanObjective) {
  const inputs: PlanModelInput[] = [chat, code].map((p, i) => ({ shape: shapes[p], ngl: ngl[i], options: { ctx: 4096 } }))
  return planModels(inputs, 6144, card, 256, { objective })
}

async function addBoth(page: Page): Promise<Locator> {
  for (const p of [chat, code]) {
    await page.getByTestId('planner-path').fill(p)
    await page.getByTestId('planner-add').click()
  }
  const rows = page.getByTestId('planner-model')
  await expect(rows).toHaveCount(2)
  return rows
}

/** Adds the two models by path; the chat model gets every layer, the code model is left to the solver. */
async function addChatAndCode(page: Page): Promise<Locator> {
  const rows = await addBoth(page)
  await rows.nth(0).getByTestId('ngl-max').uncheck()
  await rows.nth(0).getByLabel('GPU layers').fill('37')
  return rows
}

test('6 GB: 3B chat + 7B code, the largest -ngl of the 7B that fits', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(e2eState().url)
  await page.getByTestId('nav-planner').click()
  await expect(page.getByTestId('planner')).toBeVisible()
  await page.getByTestId('planner-card').selectOption(`preset:${card}`)
  const rows = await addChatAndCode(page)
  await expect(rows.nth(0).getByTestId('ngl-value')).toHaveText('37/37')
  await expect(page.getByTestId('plan-fits')).toHaveAttribute('data-fits', 'true')
  // Exactly the largest -ngl the planner computes (the solver under the default objective, balanced),
  // and by definition one more layer would not fit.
  const want = expected([37, 'max'], 'balanced').models[1].ngl
  expect(expected([37, want + 1], 'balanced').fits).toBe(false)
  await expect(rows.nth(1).getByTestId('ngl-value')).toHaveText(`${want}/29`)
  const ngl = await rows.nth(1).getByTestId('ngl-value').textContent()
  await expect(page.getByTestId('planner-export')).toContainText(`-ngl ${want}`)
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

test('two models, both left to the solver: three alternatives side by side under each objective', async ({ page }) => {
  const errors = watchErrors(page)
  await page.setViewportSize({ width: 1400, height: 1400 })
  await page.goto(e2eState().url)
  await page.getByTestId('nav-planner').click()
  await page.getByTestId('planner-card').selectOption(`preset:${card}`)
  const rows = await addBoth(page)
  for (const objective of ['priority', 'all', 'balanced'] as const) {
    await page.getByTestId(`objective-${objective}`).click()
    const want = expected(['max', 'max'], objective)
    await expect(rows.nth(0).getByTestId('ngl-value')).toHaveText(`${want.models[0].ngl}/37`)
    await expect(rows.nth(1).getByTestId('ngl-value')).toHaveText(`${want.models[1].ngl}/29`)
    await expect(page.getByTestId('plan-alternative')).toHaveCount(want.alternatives.length)
  }
  // Balanced: the 3B whole is one of the alternatives, ranked below with the reason in numbers.
  const alts = page.getByTestId('plan-alternative')
  await expect(alts).toHaveCount(3)
  await expect(page.getByTestId('plan-chosen')).toContainText('#1 · chosen')
  await expect(page.getByTestId('plan-chosen').getByTestId('plan-why')).toContainText('Best under balanced: the slowest model')
  await expect(alts.filter({ hasText: 'Qwen2.5 3B Instruct whole' }).getByTestId('plan-why')).toContainText('Ranked #')
  await expect(rows.nth(0).getByTestId('tok-s')).toContainText('tok/s')
  await expect(rows.nth(1).getByTestId('tok-s-formula')).toContainText('GB ÷ 192 GB/s (GPU)')
  await expect(page.getByTestId('host-bandwidth')).toContainText('not measured yet: speeds assume 40 GB/s')
  await expect(page.getByTestId('context-table')).toHaveCount(2)
  await expect(page.getByTestId('context-table').nth(1)).toContainText('q4_0')
  await expect(page.getByTestId('export-llama')).toContainText('No llama-server found on PATH')
  await page.screenshot({ path: join(shots, 'planner-alternatives.png'), fullPage: true })
  // Usable from 720 px: the cards wrap, nothing spills out of the page.
  await page.setViewportSize({ width: 720, height: 1400 })
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(720)
  await page.screenshot({ path: join(shots, 'planner-alternatives-720.png'), fullPage: true })
  await page.setViewportSize({ width: 1400, height: 1400 })
  // "Use this plan" fixes both models at that alternative's -ngl.
  const pick = expected(['max', 'max'], 'balanced').alternatives.find((a) => a.label.includes('3B Instruct whole'))!
  await alts.filter({ hasText: 'Qwen2.5 3B Instruct whole' }).getByTestId('use-alternative').click()
  await expect(rows.nth(0).getByTestId('ngl-value')).toHaveText(`${pick.models[0].ngl}/37`)
  await expect(rows.nth(1).getByTestId('ngl-value')).toHaveText(`${pick.models[1].ngl}/29`)
  await expect(rows.nth(0).getByTestId('ngl-max')).not.toBeChecked()
  expect(errors).toEqual([])
})

test('the GPUs panel on this machine: no GPU found, said plainly', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(e2eState().url)
  await page.getByTestId('nav-planner').click()
  const panel = page.getByTestId('gpu-panel')
  await expect(panel.getByTestId('no-gpu')).toContainText(/^No GPU found: .*nvidia-smi not found or failed.*The planner still works: pick a card or enter its VRAM\.$/)
  await expect(panel.getByTestId('gpu-card')).toHaveCount(0)
  await expect(panel.getByTestId('plan-checks')).toHaveCount(0)
  // The planner falls back to a preset card.
  await expect(page.getByTestId('planner-card')).toHaveValue(`preset:${card}`)
  expect(errors).toEqual([])
})

test('catalog models keep the names picked, host RAM is drawn against the machine, the verdict reads in dark', async ({ page }) => {
  const errors = watchErrors(page)
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.goto(e2eState().url)
  await page.getByTestId('nav-planner').click()
  // No model yet: what to do, and what comes back.
  await expect(page.getByTestId('planner-empty')).toContainText('Add a model to plan it')
  await page.screenshot({ path: join(shots, 'planner-empty-dark.png') })
  await page.getByTestId('planner-card').selectOption(`preset:${card}`)
  // Two quants of one model: the GGUFs share one general.name, the catalog tells them apart.
  const picks = e2eState().models.filter((m) => /^SmolLM2-135M-Instruct-Q/.test(m.name)).map((m) => m.name)
  expect(picks).toHaveLength(2)
  const select = page.getByLabel('Add a model from the catalog')
  for (const name of picks) {
    const value = await select.locator('option', { hasText: name }).getAttribute('value')
    await select.selectOption(value!)
  }
  await expect(page.getByTestId('planner-empty')).toHaveCount(0)
  await expect(page.getByTestId('planner-model-name')).toHaveText(picks)
  for (const name of picks) {
    await expect(page.getByTestId('vram-bar')).toContainText(name)
    await expect(page.getByTestId('plan-chosen')).toContainText(name)
  }
  await expect(page.getByTestId('context-table')).toHaveCount(2)
  for (const [i, name] of picks.entries()) await expect(page.getByTestId('context-table').nth(i)).toContainText(name)
  // The RAM bar's full width is this machine's RAM (the server's), with a legend for its colours.
  const memTotalMiB = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024
  const ram = page.getByTestId('ram-bar')
  expect(Math.abs(Number(await ram.getAttribute('data-scale-mib')) - memTotalMiB)).toBeLessThanOrEqual(1)
  await expect(ram.getByTestId('ram-legend')).toContainText("weights (page cache for mmap'd files)")
  await expect(ram.getByTestId('ram-legend')).toContainText('KV cache on the host')
  // "Fits" in a light green on the dark card (oklch lightness), not the light theme's dark green.
  const fits = page.getByTestId('plan-fits')
  await expect(fits).toHaveAttribute('data-fits', 'true')
  const lightness = Number(/oklch\(([\d.]+)/.exec(await fits.evaluate((e) => getComputedStyle(e).color))?.[1])
  expect(lightness, 'the verdict reads on a dark card').toBeGreaterThan(0.65)
  await page.screenshot({ path: join(shots, 'planner-catalog-dark.png'), fullPage: true })
  expect(errors).toEqual([])
})
