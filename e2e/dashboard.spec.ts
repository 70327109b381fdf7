import { expect, test } from '@playwright/test'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { formatBytes } from '../src/shared/format'
import { catFile, evict, readShare, row, shownResidentBytes, watchErrors } from './support/page'
import { repoRoot } from './support/serve'
import { e2eState } from './support/state'

const shots = join(repoRoot, 'e2e', 'screenshots')
const state = e2eState()

test.beforeAll(() => mkdirSync(shots, { recursive: true }))

test('every model of every source appears with its size', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(state.url)
  // The token leaves the address bar once read.
  await expect(page).not.toHaveURL(/token=/)
  for (const m of state.models) {
    const r = row(page, m.name)
    await expect(r, `row for ${m.source} model ${m.name}`).toHaveCount(1)
    await expect(r.getByTestId('model-bytes')).toHaveAttribute('data-bytes', String(m.bytes))
    await expect(r.getByTestId('model-bytes')).toHaveText(formatBytes(m.bytes))
  }
  expect(errors, 'console errors (CSP violations included)').toEqual([])
})

test('reading a model file with cat from outside makes its bar rise within 3 s', async ({ page }) => {
  const m = state.models.find((x) => x.source === 'gpt4all') ?? state.models[0]
  const path = m.files[0].path
  await page.goto(state.url)
  evict(path)
  await expect.poll(() => shownResidentBytes(page, m.name), { timeout: 10_000, message: 'bar empties after the evict' }).toBeLessThan(m.bytes * 0.1)
  const before = (await shownResidentBytes(page, m.name)) ?? 0
  catFile(path)
  const t0 = Date.now()
  await expect.poll(() => shownResidentBytes(page, m.name), { timeout: 3000, intervals: [100] }).toBeGreaterThanOrEqual(m.files[0].bytes * 0.99)
  test.info().annotations.push({ type: 'bar rose', description: `${formatBytes(before)} → full in ${Date.now() - t0} ms after cat` })
  console.log(`residency bar rose for ${m.name}: ${formatBytes(before)} → ${formatBytes(m.files[0].bytes)} in ${Date.now() - t0} ms after cat`)
})

test('sorting and filtering', async ({ page }) => {
  await page.goto(state.url)
  await expect(page.getByTestId('model-row').first()).toBeVisible()
  await page.getByTestId('sort-bytes').click()
  const sizes = await page.getByTestId('model-bytes').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-bytes'))))
  expect(sizes).toEqual([...sizes].sort((a, b) => b - a))
  await page.getByTestId('model-filter').fill('llava')
  await expect(page.getByTestId('model-row')).toHaveCount(1)
  await expect(page.getByTestId('model-name')).toHaveText('llava:7b')
})

test('skipped entries are listed with their reasons', async ({ page }) => {
  await page.goto(state.url)
  const skipped = page.getByTestId('skipped')
  await skipped.locator('summary').click()
  const entry = skipped.locator('li').filter({ hasText: 'not a model.gguf' })
  await expect(entry).toHaveCount(1)
  await expect(entry).toContainText(/not a GGUF/i)
})

test('screenshots: dashboard (light and dark) and a model detail', async ({ page }) => {
  // A realistic picture: some models cold, some partly read, some whole.
  state.models.forEach((m, i) => {
    for (const f of m.files) {
      evict(f.path)
      const share = [0, 0.35, 1, 0.7, 0.15][i % 5]
      if (i % 3 === 1) readShare(f.path, f.bytes, 0.2, 0.2 + share * 0.8)
      else readShare(f.path, f.bytes, 0, share)
    }
  })
  await page.emulateMedia({ colorScheme: 'light' })
  await page.goto(state.url)
  await expect(page.getByTestId('model-row').first()).toBeVisible()
  // The chart needs two samples; the backend keeps history, so this is quick once it has run 2 s.
  await expect(page.getByTestId('memory-chart').locator('.recharts-area').first()).toBeVisible({ timeout: 15_000 })
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true })
  if (process.env.HEARTH_UPDATE_README_SCREENSHOT === '1') {
    mkdirSync(join(repoRoot, 'docs'), { recursive: true })
    copyFileSync(join(shots, 'dashboard.png'), join(repoRoot, 'docs', 'screenshot-dashboard.png'))
  }
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect(page.locator('html')).toHaveClass(/dark/)
  await page.screenshot({ path: join(shots, 'dashboard-dark.png'), fullPage: true })

  await page.emulateMedia({ colorScheme: 'light' })
  const m = state.models.find((x) => x.files.length > 1 && x.format === 'gguf') ?? state.models[0]
  await row(page, m.name).getByTestId('model-name').click()
  const detail = page.getByTestId('model-detail')
  await expect(detail.locator('h1')).toHaveText(m.name)
  await expect(detail.getByTestId('file')).toHaveCount(m.files.length)
  for (const f of m.files) await expect(detail.getByTestId('file').filter({ hasText: f.path })).toContainText(f.role)
  await expect(detail.getByTestId('gguf-facts')).toContainText(m.architecture ?? '')
  await expect(detail.getByTestId('heat-strip').first()).toHaveAttribute('data-resident-bytes', /\d+/)
  await page.waitForTimeout(1200)
  await page.screenshot({ path: join(shots, 'model-detail.png'), fullPage: true })
  await page.getByTestId('back').click()
  await expect(page.getByTestId('dashboard')).toBeVisible()
})

test('the theme toggle overrides the system scheme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' })
  await page.goto(state.url)
  const html = page.locator('html')
  await expect(html).not.toHaveClass(/dark/)
  const toggle = page.getByTestId('theme-toggle')
  await toggle.click() // system → light
  await toggle.click() // light → dark
  await expect(html).toHaveClass(/dark/)
  await page.reload()
  await expect(html).toHaveClass(/dark/)
  await toggle.click() // dark → system
  await expect(html).not.toHaveClass(/dark/)
})
