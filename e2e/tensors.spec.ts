// The tensor map and the load-order recorder in the model detail, against the real backend: the
// live grid of a half-resident MoE model (experts × layers), a recording made while this test
// reads the model, replayed with the time slider, exported, imported and compared.
import { expect, test, type Locator, type Page } from '@playwright/test'
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeGguf, type WrittenGguf } from '../test/helpers/gguf-writer'
import { qwen3MoeShape } from '../test/helpers/model-shapes'
import { evict, readRange } from '../test/support/files'
import { row, watchErrors } from './support/page'
import { repoRoot } from './support/serve'
import { e2eState } from './support/state'

const shots = join(repoRoot, 'e2e', 'screenshots')
const state = e2eState()
const addedFolder = join(state.dir, 'my models')
const workDir = join(state.dir, 'tensors-spec')
const name = 'hearth-e2e tiny MoE Q8_0'
const layers = 16
const experts = 32
let model: WrittenGguf
let path = ''

/**
 * Screenshots with the sticky top bar put back in the flow, so it does not cover what was scrolled
 * to (through the CSSOM: the page's CSP rightly refuses injected style sheets).
 */
async function shot(page: Page, file: string, what?: Locator): Promise<void> {
  await page.evaluate(() => document.querySelector('header')?.style.setProperty('position', 'static'))
  if (what) await what.screenshot({ path: join(shots, file) })
  else await page.screenshot({ path: join(shots, file), fullPage: true })
  await page.evaluate(() => document.querySelector('header')?.style.removeProperty('position'))
}
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))
const tensor = (n: string) => {
  const t = model.tensors.find((x) => x.name === n)
  if (!t) throw new Error(`no tensor ${n}`)
  return { start: model.tensorDataOffset + t.offset, bytes: t.bytes }
}

/** Everything but the experts, and experts 0 … experts/2 − 1 of every layer: a half-resident MoE. */
function makeHalfResident(): void {
  evict(path)
  const embd = tensor('token_embd.weight')
  readRange(path, embd.start, embd.bytes)
  for (let l = 0; l < layers; l++) {
    const first = tensor(`blk.${l}.attn_norm.weight`)
    const gate = tensor(`blk.${l}.ffn_gate_exps.weight`)
    readRange(path, first.start, gate.start - first.start)
    for (const p of ['gate', 'up', 'down']) {
      const t = tensor(`blk.${l}.ffn_${p}_exps.weight`)
      readRange(path, t.start, t.bytes / 2)
    }
  }
}

/** Reads the model front to back in 8 MiB steps, pausing between them, as a slow loader would. */
async function readFrontToBack(pauseMs: number): Promise<void> {
  const step = 8 << 20
  for (let off = 0; off < model.bytes; off += step) {
    readRange(path, off, Math.min(step, model.bytes - off))
    await sleep(pauseMs)
  }
}

/** Reads the layers last to first (a made-up loader, to have something to compare with). */
async function readBackToFront(pauseMs: number): Promise<void> {
  for (let l = layers - 1; l >= 0; l--) {
    const first = tensor(`blk.${l}.attn_norm.weight`)
    const last = tensor(`blk.${l}.ffn_down_exps.weight`)
    readRange(path, first.start, last.start + last.bytes - first.start)
    await sleep(pauseMs)
  }
}

/** Evicts the model, starts the recorder from the UI, runs `read`, stops it. */
async function recordWhile(rec: Locator, read: () => Promise<void>): Promise<void> {
  evict(path)
  await rec.getByTestId('record-start').click()
  await expect(rec.getByTestId('record-stop')).toBeVisible()
  await sleep(300)
  await read()
  await sleep(300)
  await rec.getByTestId('record-stop').click()
}

async function openDetail(page: Page): Promise<void> {
  await page.goto(state.url)
  await expect(row(page, name)).toHaveCount(1, { timeout: 20_000 })
  await row(page, name).getByTestId('model-name').click()
  await expect(page.getByTestId('model-detail').locator('h1')).toHaveText(name)
}

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  mkdirSync(workDir, { recursive: true })
  const spec = qwen3MoeShape({ name, layers, embd: 512, heads: 8, headsKv: 4, ff: 1024, vocab: 8192, experts: { count: experts, used: 4, ff: 512 }, fileType: 'Q8_0' })
  // Written beside the added folder and renamed in: the catalog's watcher never sees half a file.
  model = await writeGguf(join(workDir, `${name}.gguf`), { ...spec, sparse: true })
  path = join(addedFolder, `${name}.gguf`)
  renameSync(model.path, path)
})

test.afterAll(async ({ browser }) => {
  evict(path)
  rmSync(path, { force: true })
  rmSync(workDir, { recursive: true, force: true })
  const page = await browser.newPage()
  await page.goto(state.url)
  await expect(page.getByTestId('model-name').filter({ hasText: name })).toHaveCount(0, { timeout: 20_000 })
  await page.close()
})

test('the tensor grid of a half-resident MoE model: layers × kinds and experts × layers, live', async ({ page }) => {
  const errors = watchErrors(page)
  await page.emulateMedia({ colorScheme: 'light' })
  makeHalfResident()
  await openDetail(page)
  const grid = page.getByTestId('tensor-grid')
  await expect(grid).toHaveAttribute('data-layers', String(layers))
  await expect(grid).toHaveAttribute('data-kinds', 'attention,router,experts,norm')
  const ex = page.getByTestId('expert-grid')
  await expect(ex).toHaveAttribute('data-experts', String(experts))
  // Experts 0–15 of every layer in, 16–31 out.
  const half = layers * (experts / 2)
  await expect(ex).toHaveAttribute('data-in-cells', String(half))
  await expect(ex).toHaveAttribute('data-out-cells', String(half))
  await expect(page.getByTestId('tensor-map-summary')).toContainText(`${model.tensors.length} tensors · ${layers} layers · ${experts} experts`)
  await shot(page, 'tensor-grid-moe.png')
  await shot(page, 'tensor-grid-moe-panel.png', page.getByTestId('tensor-grid'))

  // Live: the rest of layer 3's experts comes in, and the grid follows without a reload.
  for (const p of ['gate', 'up', 'down']) {
    const t = tensor(`blk.3.ffn_${p}_exps.weight`)
    readRange(path, t.start + t.bytes / 2, t.bytes / 2)
  }
  await expect(ex).toHaveAttribute('data-in-cells', String(half + experts / 2), { timeout: 10_000 })

  // At 720 px the grid still fits: no horizontal scroll.
  await page.setViewportSize({ width: 720, height: 1000 })
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(720)
  await shot(page, 'tensor-grid-moe-720.png')
  expect(errors).toEqual([])
})

test('record a load, replay it with the time slider, export, import and compare two recordings', async ({ page }) => {
  test.setTimeout(120_000)
  const errors = watchErrors(page)
  await page.emulateMedia({ colorScheme: 'light' })
  await openDetail(page)
  const rec = page.getByTestId('recordings')
  await expect(rec).toContainText('samples residency')

  // A: front to back.
  await recordWhile(rec, () => readFrontToBack(40))
  const replay = page.getByTestId('replay')
  await expect(replay).toBeVisible({ timeout: 15_000 })
  const samples = Number(await replay.getAttribute('data-samples'))
  expect(samples).toBeGreaterThan(5)
  await expect(replay.getByTestId('sequentiality')).toContainText(/(9\d|100)(\.\d)?%/)
  await expect(replay.getByTestId('first-touch').locator('li').first()).toContainText('token_embd.weight')
  await expect(replay.getByTestId('method-note')).toContainText('Sampled at 10 Hz')
  await expect(replay.getByTestId('layer-touch-chart')).toHaveAttribute('data-points', String(layers))

  // The slider moves the moment: early on only the first layers are in.
  const slider = replay.getByTestId('replay-slider')
  await slider.fill(String(Math.floor(samples / 3)))
  await expect(replay).toHaveAttribute('data-position', String(Math.floor(samples / 3)))
  expect(Number(await replay.getByTestId('replay-grid').getAttribute('data-out-layers'))).toBeGreaterThan(0)
  await page.evaluate(() => window.scrollTo(0, 0))
  await shot(page, 'recording-replay.png')
  await shot(page, 'recording-replay-panel.png', replay)
  if (process.env.HEARTH_UPDATE_README_SCREENSHOT === '1') {
    copyFileSync(join(shots, 'tensor-grid-moe-panel.png'), join(repoRoot, 'docs', 'screenshot-tensor-grid.png'))
    copyFileSync(join(shots, 'recording-replay-panel.png'), join(repoRoot, 'docs', 'screenshot-recording-replay.png'))
  }
  await slider.fill(String(samples - 1))
  await expect(replay.getByTestId('replay-grid')).toHaveAttribute('data-in-layers', String(layers))

  // Export: the CSV download and the JSON lines (kept to import below).
  const [csv] = await Promise.all([page.waitForEvent('download'), replay.getByTestId('export-csv').click()])
  const csvText = readFileSync(await csv.path(), 'utf8')
  expect(csvText.split('\n')[0]).toBe('t_ms,event,file,offset_bytes,bytes,first_tensor,sequential,resident_bytes,disk_read_bytes_per_sec,major_faults_per_sec')
  expect(csvText).toContain(',added,')
  const [jsonl] = await Promise.all([page.waitForEvent('download'), replay.getByRole('button', { name: 'Save JSON lines' }).click()])
  const saved = join(workDir, 'front-to-back.jsonl')
  writeFileSync(saved, readFileSync(await jsonl.path()))

  // B: last layer first.
  await recordWhile(rec, () => readBackToFront(120))
  await expect(rec.getByTestId('recording-row')).toHaveCount(2, { timeout: 15_000 })

  // Import A's file, then compare the imported A with the recorded B.
  await rec.getByTestId('record-import').setInputFiles(saved)
  await expect(rec.getByTestId('recording-row')).toHaveCount(3)
  await expect(rec.getByTestId('recording-row').first()).toContainText('front-to-back.jsonl (file)')
  await rec.getByTestId('recording-row').nth(0).getByTestId('compare-A').check()
  await rec.getByTestId('recording-row').nth(1).getByTestId('compare-B').check()
  const compare = page.getByTestId('compare')
  await expect(compare.getByTestId('compare-side')).toHaveCount(2)
  await expect(compare.getByTestId('compare-headline')).toContainText('A:')
  // Two seconds in: A has its first layers, B its last ones.
  await compare.getByTestId('compare-slider').fill('2000')
  await page.evaluate(() => window.scrollTo(0, 0))
  await shot(page, 'recording-compare.png')

  // Bad input: a file that is not a recording is refused with its name.
  const bad = join(workDir, 'notes.jsonl')
  writeFileSync(bad, 'hello\n')
  await rec.getByTestId('record-import').setInputFiles(bad)
  await expect(rec.getByTestId('record-error')).toContainText('notes.jsonl is not a Hearth recording')
  expect(errors).toEqual([])
})
