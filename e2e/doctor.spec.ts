// The Doctor end to end: a real backend over a temp HOME, with stand-in loaders holding its models
// the ways that matter (O_DIRECT: failing, staging offered; read into memory: a warning and its
// fix), the nav badge, the 2-second read test from the UI, and the models list's load-time column.
import { expect, test } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { writeGguf } from '../test/helpers/gguf-writer'
import { llamaShape } from '../test/helpers/model-shapes'
import { throttleReads } from '../test/support/cgroup'
import { folderHome } from '../test/support/folder-home'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'
import { evict, watchErrors } from './support/page'

const shots = join(repoRoot, 'e2e', 'screenshots')
let dir: string
let served: Served
const kids: ChildProcess[] = []
const paths: Record<string, string> = {}

async function reader(mode: string, path: string, title: string): Promise<number> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/children/model-reader.ts'), mode, path, title], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] })
  kids.push(p)
  const line = await new Promise<string>((ok) => createInterface({ input: p.stdout! }).once('line', ok))
  return JSON.parse(line).pid as number
}

test.beforeAll(async () => {
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-doctor-'))
  const { models, env } = folderHome(dir)
  const shapes = [
    ['Qwen-Direct Q8_0', { layers: 8, embd: 1024, heads: 16, headsKv: 8, ff: 4096, vocab: 32000 }],
    ['Llama-NoMmap Q8_0', { layers: 6, embd: 1024, heads: 16, headsKv: 8, ff: 4096, vocab: 32000 }],
    ['Phi-Idle Q8_0', { layers: 2, embd: 512, heads: 8, headsKv: 4, ff: 1536, vocab: 8192 }],
  ] as const
  for (const [name, s] of shapes) {
    paths[name] = join(models, `${name}.gguf`)
    await writeGguf(paths[name], llamaShape({ ...s, fileType: 'Q8_0', name }))
    evict(paths[name]) // cold, as a model is before its first load
  }
  served = await startServe(isolatedEnv(env))
  await reader('direct', paths['Qwen-Direct Q8_0'], 'llama-server')
  await reader('read', paths['Llama-NoMmap Q8_0'], 'llama-server')
})

test.afterAll(async () => {
  for (const k of kids) k.kill('SIGKILL')
  await served?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('the Doctor shows a failing O_DIRECT reader with its Stage button, a warning with its fix, and a badge on the nav', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.getByTestId('nav-doctor').click()
  await expect(page.getByTestId('doctor-view')).toBeVisible()
  // The first run happens on opening: the badge counts what needs attention.
  const badge = page.getByTestId('doctor-badge')
  await expect(badge).toBeVisible({ timeout: 30_000 })
  expect(Number(await badge.getAttribute('data-fail'))).toBeGreaterThanOrEqual(1)

  const failing = page.getByTestId('group-fail').getByTestId('finding').filter({ hasText: 'Qwen-Direct Q8_0 with O_DIRECT' })
  await expect(failing).toBeVisible()
  await expect(failing.getByTestId('evidence')).toContainText('(O_DIRECT)')
  await expect(failing.getByTestId('fix-action')).toHaveText('Stage Qwen-Direct Q8_0 in the RAM disk')
  await expect(failing.getByTestId('fix-command')).toHaveText(/^hearth stage folder:/)

  const warning = page.getByTestId('group-warn').getByTestId('finding').filter({ hasText: 'Llama-NoMmap Q8_0 into its own memory' })
  await warning.locator('summary').click()
  await expect(warning.getByTestId('evidence')).toContainText('anonymous memory (RssAnon)')
  await expect(warning.getByTestId('fix')).toContainText('Load with mmap')
  await page.setViewportSize({ width: 1200, height: 1500 })
  await page.screenshot({ path: join(shots, 'doctor.png'), fullPage: true })
  // Narrow windows: nothing may run off the side.
  await page.setViewportSize({ width: 720, height: 1100 })
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(720)
  await page.screenshot({ path: join(shots, 'doctor-720.png') })
  // Dark: each card keeps its coloured severity stripe (the grey frame must not paint over it).
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect(page.locator('html')).toHaveClass(/dark/)
  const borders = await page.getByTestId('finding').evaluateAll((els) => els.map((e) => ({ left: getComputedStyle(e).borderLeftColor, top: getComputedStyle(e).borderTopColor })))
  expect(borders.length).toBeGreaterThan(0)
  for (const b of borders) expect(b.left, 'the stripe is not the frame\'s grey').not.toBe(b.top)
  await page.screenshot({ path: join(shots, 'doctor-720-dark.png') })
  expect(errors).toEqual([])
})

test('a read test from the Doctor measures the disk, and the models list shows and sorts by load time', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.getByTestId('nav-doctor').click()
  const device = page.getByTestId('storage-device').first()
  await expect(device).toBeVisible({ timeout: 30_000 })
  // Where the machine allows it, the server reads like an HDD (150 MB/s) during the test, so the
  // column shows what its users see; the numbers are not asserted (a shared machine's disk swings).
  const canThrottle = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device')
  const unthrottle = canThrottle ? throttleReads(dir, 150e6, served.child.pid!) : null
  try {
    await device.getByTestId('read-test').click()
    await expect(device.getByTestId('bandwidth')).toHaveText(/\/s$/, { timeout: 30_000 })
  } finally {
    unthrottle?.()
  }

  // What the readers left in the cache may have been reclaimed since (a loaded CI machine): put
  // it back as the sentence below describes it, the read one cached and the idle one cold.
  readFileSync(paths['Llama-NoMmap Q8_0'])
  evict(paths['Phi-Idle Q8_0'])
  await page.getByTestId('nav-dashboard').click()
  const cells = page.getByTestId('model-table').getByTestId('load-time')
  await expect(cells).toHaveCount(3)
  for (const c of await cells.all()) await expect(c).toHaveAttribute('data-cold-seconds', /^\d+\.\d\d$/)
  // Sorted by the load time now, slowest first: the O_DIRECT reader's model is never cached, the
  // idle one was evicted, the one read into memory went through the page cache (now ≈ 0).
  await page.getByTestId('sort-load').click()
  await expect(page.getByTestId('model-name')).toHaveText(['Qwen-Direct Q8_0', 'Phi-Idle Q8_0', 'Llama-NoMmap Q8_0'])
  const now = await Promise.all((await cells.all()).map(async (c) => Number(await c.getAttribute('data-now-seconds'))))
  expect(now[0]).toBeGreaterThan(now[1])
  expect(now[1]).toBeGreaterThan(now[2])
  await page.setViewportSize({ width: 1400, height: 700 })
  await page.getByTestId('model-table').scrollIntoViewIfNeeded()
  await page.screenshot({ path: join(shots, 'models-load-time.png') })
  await page.getByTestId('model-name').first().click()
  await expect(page.getByTestId('load-time-sentence')).toContainText(/Cold ≈ .* from .*, now ≈/)
  expect(errors).toEqual([])
})
