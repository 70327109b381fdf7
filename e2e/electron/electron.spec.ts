/// <reference lib="dom" />
import { _electron as electron, expect, test } from '@playwright/test'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { makeModelHome } from '../../test/fixtures/model-home'
import { row } from '../support/page'
import { isolatedEnv, repoRoot } from '../support/serve'

/** The Electron binary's path, or why there is none (its download cannot run everywhere). */
function electronBinary(): { path?: string; missing?: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown as string
    if (typeof path === 'string' && existsSync(path)) return { path }
    return { missing: `the Electron binary is missing (${path}); run \`node node_modules/electron/install.js\` where its download is reachable` }
  } catch (err) {
    return { missing: `the electron package cannot give its binary: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` }
  }
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
