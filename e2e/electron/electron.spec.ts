/// <reference lib="dom" />
import { _electron as electron, expect, test } from '@playwright/test'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { makeModelHome } from '../../test/fixtures/model-home'
import { row } from '../support/page'
import { isolatedEnv, repoRoot } from '../support/serve'

/**
 * The Electron binary's path, or why there is none. Read from the package's own path.txt rather
 * than require('electron'), which would try to download the binary (and fail offline).
 */
function electronBinary(): { path?: string; missing?: string } {
  const pkg = join(repoRoot, 'node_modules', 'electron')
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron')
    return existsSync(p) ? { path: p } : { missing: `ELECTRON_OVERRIDE_DIST_PATH has no electron binary (${p})` }
  }
  const pathFile = join(pkg, 'path.txt')
  if (!existsSync(pathFile)) return { missing: 'the Electron binary is not installed (node_modules/electron/dist is absent: its download cannot run here)' }
  const p = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(p) ? { path: p } : { missing: `the Electron binary is missing (${p})` }
}

const bin = electronBinary()

test('the desktop window shows the models over IPC', async () => {
  test.skip(!bin.path, bin.missing)
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  const dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-electron-'))
  try {
    const home = await makeModelHome(dir)
    const app = await electron.launch({
      executablePath: bin.path,
      args: [join(repoRoot, 'out', 'main', 'index.js'), '--no-sandbox', '--disable-gpu'],
      env: isolatedEnv(home.env) as Record<string, string>,
    })
    try {
      const page = await app.firstWindow()
      // No WebSocket in the desktop app: the preload bridge carries the contract.
      expect(await page.evaluate(() => typeof (window as unknown as { hearth?: unknown }).hearth)).toBe('object')
      for (const m of home.models) {
        await expect(row(page, m.name).getByTestId('model-bytes')).toHaveAttribute('data-bytes', String(m.bytes))
      }
      await expect(page.getByTestId('disconnected')).toHaveCount(0)
    } finally {
      await app.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
