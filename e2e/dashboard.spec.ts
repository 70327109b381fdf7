import { expect, test, type Page } from '@playwright/test'
import { copyFileSync, mkdirSync } from 'node:fs'
import { basename, join } from 'node:path'
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

/** The window scrolled to the models list, its top just under the sticky header. */
async function listScreenshot(page: Page, file: string) {
  await page.evaluate(() => {
    const list = document.querySelector('[data-testid=model-table]')!.closest('section')!
    const header = document.querySelector('header')!.getBoundingClientRect().height
    window.scrollTo(0, list.getBoundingClientRect().top + window.scrollY - header - 8)
  })
  await page.screenshot({ path: join(shots, file) })
}

/** Where an element sits on the page; fails the test when it is not rendered. */
async function box(page: Page, locator: ReturnType<Page['locator']>) {
  const b = await locator.boundingBox()
  expect(b, 'the element is rendered').not.toBeNull()
  return b!
}

/**
 * What makes a list usable at this width: every name readable (room for at least ~12 characters,
 * the full name on hover), nothing wider than the window, and a row's actions on screen.
 */
async function checkListAt(page: Page, width: number, layout: 'wide' | 'narrow') {
  await page.setViewportSize({ width, height: 900 })
  await page.goto(state.url)
  const table = page.getByTestId('model-table')
  await expect(table).toHaveAttribute('data-layout', layout)
  await expect(row(page, state.models[0].name)).toHaveCount(1)
  const names = await page.getByTestId('model-name').evaluateAll((els) =>
    els.map((el) => ({ name: el.textContent, title: el.getAttribute('title'), width: el.getBoundingClientRect().width, full: el.scrollWidth })),
  )
  expect(names.map((n) => n.name)).toEqual(expect.arrayContaining(state.models.map((m) => m.name)))
  for (const n of names) {
    expect(n.title, 'the full name on hover').toBe(n.name)
    // the whole name, or at least 96 px of it (a dozen characters) with an ellipsis
    expect(n.width, `${n.name}: the name's room at ${width} px`).toBeGreaterThanOrEqual(Math.min(n.full, 96) - 1)
  }
  const overflow = await table.evaluate((t) => ({ table: t.scrollWidth, room: t.parentElement!.clientWidth, page: document.documentElement.scrollWidth }))
  expect(overflow.table, 'the table fits its panel: nothing to scroll sideways').toBeLessThanOrEqual(overflow.room + 1)
  expect(overflow.page, 'the page fits the window').toBeLessThanOrEqual(width)
}

test('the models list works from 720 px: names readable, badges clear of the source, actions in a menu', async ({ page }) => {
  test.setTimeout(120_000)
  const errors = watchErrors(page)
  await page.emulateMedia({ colorScheme: 'light' })
  // The longest name, locked and pinned: the row with the least room.
  const m = [...state.models].sort((a, b) => b.name.length - a.name.length)[0]

  for (const width of [720, 760]) {
    await checkListAt(page, width, 'narrow')
    const r = row(page, m.name)
    await expect(r.getByTestId('action-warm'), 'no inline buttons when narrow').toHaveCount(0)
    const menuButton = r.getByTestId('row-menu')
    const mb = await box(page, menuButton)
    expect(mb.x + mb.width, 'the menu button is on screen').toBeLessThanOrEqual(width)
    if (width === 760) {
      await menuButton.click()
      const items = r.getByTestId('row-menu-items')
      await expect(items).toBeVisible()
      for (const a of ['warm', 'evict', 'lock', 'pin']) await expect(items.getByTestId(`action-${a}`)).toBeVisible()
      const ib = await box(page, items)
      expect(ib.x, 'the menu is on screen').toBeGreaterThanOrEqual(0)
      expect(ib.x + ib.width).toBeLessThanOrEqual(width)
      await page.screenshot({ path: join(shots, 'models-760-menu.png') })
      await items.getByTestId('action-lock').click()
      await expect(items, 'a choice closes the menu').toBeHidden()
      await expect(r.getByTestId('badge-locked')).toBeVisible()
      await menuButton.click()
      await r.getByTestId('row-menu-items').getByTestId('action-pin').click()
      await expect(r.getByTestId('badge-pinned')).toBeVisible()
    }
  }
  // Both badges beside the longest name, clear of the source column.
  const r = row(page, m.name)
  const source = await box(page, r.getByTestId('model-source'))
  for (const b of ['badge-locked', 'badge-pinned']) {
    const bb = await box(page, r.getByTestId(b))
    expect(bb.x + bb.width, `${b} ends before the source column`).toBeLessThanOrEqual(source.x)
  }
  const name = await box(page, r.getByTestId('model-name'))
  expect(name.width, 'the name keeps room beside the badges').toBeGreaterThanOrEqual(96)
  await listScreenshot(page, 'models-760.png')

  await checkListAt(page, 1280, 'wide')
  // Wide, the names get the room the other columns do not need: two quants of one model
  // ("…-Instruct-Q4_K_M", "…-Instruct-Q8_0") are both whole, not cut to one shared prefix.
  const wideNames = await page.getByTestId('model-name').evaluateAll((els) => els.map((el) => ({ name: el.textContent ?? '', width: el.getBoundingClientRect().width, full: el.scrollWidth })))
  for (const n of wideNames.filter((x) => x.name.length <= 28)) expect(n.width, `${n.name} whole at 1280 px`).toBeGreaterThanOrEqual(n.full - 1)
  const wideRow = row(page, m.name)
  await expect(wideRow.getByTestId('row-menu')).toHaveCount(0)
  const unlock = await box(page, wideRow.getByTestId('action-unlock'))
  expect(unlock.x + unlock.width, 'inline actions are on screen').toBeLessThanOrEqual(1280)
  await expect(wideRow.getByTestId('badge-locked')).toHaveText('Locked')
  await listScreenshot(page, 'models-1280.png')
  await wideRow.getByTestId('action-unlock').click()
  await wideRow.getByTestId('action-unpin').click()
  await expect(wideRow.getByTestId('badge-locked')).toHaveCount(0)
  await expect(wideRow.getByTestId('badge-pinned')).toHaveCount(0)
  expect(errors).toEqual([])
})

test('a split model at 760 px: each shard told apart by name, and Undo everything lists each lock at its own size below the title', async ({ page }) => {
  const errors = watchErrors(page)
  const m = state.models.find((x) => x.files.length === 3 && new Set(x.files.map((f) => f.bytes)).size === 3)!
  await page.setViewportSize({ width: 760, height: 900 })
  await page.goto(state.url)
  await row(page, m.name).getByTestId('model-name').click()
  // The folder gives way, never the file name; the whole path on hover.
  const fileNames = page.getByTestId('file-list').getByTestId('path-file-name')
  await expect(fileNames).toHaveCount(3)
  const shown = await fileNames.evaluateAll((els) => els.map((e) => ({ text: e.textContent, clipped: e.scrollWidth > e.clientWidth + 1 })))
  expect(shown).toEqual(m.files.map((f) => ({ text: basename(f.path), clipped: false })))
  await expect(page.getByTestId('file-path').first()).toHaveAttribute('title', m.files[0].path)
  await page.getByTestId('file-list').screenshot({ path: join(shots, 'detail-files-760.png') })

  await page.goto(state.url)
  const r = row(page, m.name)
  await r.getByTestId('row-menu').click()
  await r.getByTestId('row-menu-items').getByTestId('action-lock').click()
  await expect(r.getByTestId('badge-locked')).toBeVisible({ timeout: 15_000 })
  await page.getByTestId('undo-everything').click()
  const preview = page.getByTestId('off-preview')
  const locks = preview.getByTestId('off-lock')
  await expect(locks).toHaveCount(3)
  for (const [i, f] of m.files.entries()) await expect(locks.nth(i)).toHaveText(`unlock ${f.path} (${formatBytes(f.bytes)}, held by Hearth itself)`)
  // Below the panel's title and as wide as the panel, not squeezed beside the title.
  const title = await box(page, page.getByRole('heading', { name: 'RAM disk' }))
  const pb = await box(page, preview)
  expect(pb.y, 'the preview starts below the title').toBeGreaterThanOrEqual(title.y + title.height)
  expect(pb.x, 'the preview starts at the panel\'s left edge').toBeLessThanOrEqual(title.x + 1)
  await preview.screenshot({ path: join(shots, 'undo-everything-760.png') })
  await page.getByTestId('confirm-off').click()
  await expect(page.getByText(/Undone: .*3 lock\(s\)/)).toBeVisible({ timeout: 15_000 })
  await expect(r.getByTestId('badge-locked')).toHaveCount(0, { timeout: 15_000 })
  expect(errors).toEqual([])
})
