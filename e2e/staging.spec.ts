// RAM-disk staging from the UI, end to end: the server runs as root in a private mount namespace
// (so every mount it makes dies with it), with the checkout's helper (make -C src/helper).
import { expect, test } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeGguf } from '../test/helpers/gguf-writer'
import { llamaShape } from '../test/helpers/model-shapes'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'
import { watchErrors } from './support/page'

const shots = join(repoRoot, 'e2e', 'screenshots')
let dir: string
let served: Served

test.skip(process.getuid?.() !== 0, 'staging needs root (the helper runs directly as root here)')

test.beforeAll(async () => {
  execFileSync('make', ['-s', '-C', join(repoRoot, 'src/helper')])
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-stage-'))
  const home = join(dir, 'home')
  const models = join(dir, 'models')
  mkdirSync(join(home, '.config', 'hearth'), { recursive: true })
  mkdirSync(models)
  // A real (non-sparse) file, so the copy has bytes to move and to compare.
  await writeGguf(join(models, 'stage-me Q8_0.gguf'), llamaShape({ layers: 4, embd: 512, heads: 8, headsKv: 4, ff: 1536, vocab: 8192, fileType: 'Q8_0', name: 'Stage Me' }))
  writeFileSync(join(home, '.config', 'hearth', 'settings.json'), JSON.stringify({ folders: [models] }))
  served = await startServe(
    isolatedEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'no-system-ollama') }),
    30_000,
    // Its own /run too: the helper's base (/run/hearth) is then this server's alone, whatever
    // other helpers on the machine do meanwhile.
    ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs hearth-e2e-run /run && exec "$@"', 'sh'],
  )
})
test.afterAll(async () => {
  await served?.stop() // its namespace, and every mount in it, ends with it
  rmSync(dir, { recursive: true, force: true })
})

function mountsOfServer(): string {
  return readFileSync(`/proc/${served.child.pid}/mountinfo`, 'utf8')
}

test('stage a model from its detail, see the RAM-disk badge and tmpfs bar, then undo everything', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(served.url)
  await page.getByText('stage-me Q8_0').first().click()
  await page.getByTestId('stage').click()
  await expect(page.getByTestId('ramdisk-badge').first()).toBeVisible({ timeout: 30_000 })
  // The server's namespace (unshare and sh exec node, so its pid is the server's) shows the bind.
  await expect.poll(() => / - tmpfs hearth /.test(mountsOfServer().split('\n').filter((l) => l.includes('stage-me')).join('\n'))).toBe(true)
  await page.screenshot({ path: join(shots, 'staged-detail.png') })

  // The Lab's locked dummy memory is Hearth's doing too: hold about 256 MiB of it.
  await page.getByTestId('nav-lab').click()
  const availableGiB = Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 2 ** 20
  await page.getByLabel('GiB left available').fill(String(Math.floor((availableGiB - 0.25) * 100) / 100))
  await page.getByTestId('lab-pressure-hold').click()
  await expect(page.getByTestId('lab-pressure-held')).toBeVisible({ timeout: 15_000 })

  await page.getByTestId('nav-dashboard').click()
  await expect(page.getByTestId('tmpfs-usage')).toBeVisible()
  await page.getByTestId('undo-everything').click()
  const preview = page.getByTestId('off-preview')
  await expect(preview).toContainText('stage-me Q8_0')
  await expect(preview.getByTestId('off-pressure')).toHaveText(/^release [\d.]+ MiB of locked dummy memory/)
  await page.screenshot({ path: join(shots, 'undo-everything.png') })
  await page.getByTestId('confirm-off').click()
  await expect(page.getByText(/Undone: 1 staged file\(s\), \d+ lock\(s\), 0 sysctl\(s\), [\d.]+ MiB of dummy memory/)).toBeVisible({ timeout: 15_000 })
  await expect(page.getByTestId('ramdisk-badge')).toHaveCount(0, { timeout: 15_000 })
  await page.getByTestId('undo-everything').scrollIntoViewIfNeeded()
  await page.screenshot({ path: join(shots, 'undo-everything-done.png') })
  await expect.poll(() => mountsOfServer().includes(' - tmpfs hearth ')).toBe(false)
  expect(errors).toEqual([])
})
