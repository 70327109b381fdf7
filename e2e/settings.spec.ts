import { expect, test, type Page } from '@playwright/test'
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'
import { watchErrors } from './support/page'

// Settings for autostart, tray-on-close and notifications, applied through the backend; and what
// an AppImage says about staging.
let dir: string
let home: string
let served: Served

test.beforeAll(async () => {
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-settings-'))
  home = join(dir, 'home')
  mkdirSync(home)
  served = await startServe(isolatedEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_RUNTIME_DIR: join(dir, 'run'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none') }))
})
test.afterAll(async () => {
  await served?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function openSettings(page: Page, url: string): Promise<void> {
  await page.goto(url)
  await page.getByTestId('nav-settings').click()
  await expect(page.getByTestId('settings')).toBeVisible()
}

test('autostart, tray on close and notifications: shown, changed, kept', async ({ page }) => {
  const errors = watchErrors(page)
  await page.setViewportSize({ width: 1280, height: 900 })
  await openSettings(page, served.url)
  const tray = page.getByTestId('setting-tray-on-close')
  const autostart = page.getByTestId('setting-autostart')
  await expect(tray).toHaveAttribute('aria-checked', 'true') // on by default
  await expect(autostart).toHaveAttribute('aria-checked', 'false') // off by default
  await expect(page.getByTestId('setting-start-in-tray')).toBeDisabled()
  await expect(page.getByTestId('backend-info')).toContainText('This window talks to hearth serve (pid')

  // Start at login: the entry appears in the autostart folder, and goes away again.
  const entry = join(home, '.config', 'autostart', 'hearth.desktop')
  await autostart.click()
  await expect(autostart).toHaveAttribute('aria-checked', 'true')
  await expect.poll(() => existsSync(entry)).toBe(true)
  expect(readFileSync(entry, 'utf8')).toMatch(/^Exec=.*daemon --autostart$/m)
  await expect(page.getByTestId('setting-start-in-tray')).toBeEnabled()

  await page.getByTestId('setting-notify-pinRewarmed').click()
  await expect(page.getByTestId('setting-notify-pinRewarmed')).toHaveAttribute('aria-checked', 'false')
  await page.getByTestId('setting-warm-delay').fill('90')
  await expect(page.getByTestId('setting-warm-delay')).toHaveValue('90')
  await page.screenshot({ path: join(repoRoot, 'e2e/screenshots/settings-1280.png'), fullPage: true })

  // Kept by the backend: a reload shows the same.
  await page.reload()
  await page.getByTestId('nav-settings').click()
  await expect(page.getByTestId('setting-notify-pinRewarmed')).toHaveAttribute('aria-checked', 'false')
  await expect(page.getByTestId('setting-autostart')).toHaveAttribute('aria-checked', 'true')
  await expect(page.getByTestId('setting-warm-delay')).toHaveValue('90')
  const saved = JSON.parse(readFileSync(join(home, '.config', 'hearth', 'settings.json'), 'utf8')) as { desktop: Record<string, unknown> }
  expect(saved.desktop).toMatchObject({ autostart: true, trayOnClose: true, warmDelaySeconds: 90, notifications: { pinRewarmed: false, jobDone: true } })

  // Narrow (a window docked beside an editor): everything still reachable.
  await page.setViewportSize({ width: 720, height: 900 })
  const box = await page.getByTestId('settings').boundingBox()
  expect(box!.width).toBeLessThanOrEqual(720)
  await page.screenshot({ path: join(repoRoot, 'e2e/screenshots/settings-720.png'), fullPage: true })

  await page.getByTestId('setting-autostart').click()
  await expect.poll(() => existsSync(entry)).toBe(false)
  expect(errors).toEqual([])
})

test('an AppImage says why staging needs the installed package', async ({ page }) => {
  // The built app moved away from this checkout (no build/helper beside it) and run with
  // APPIMAGE set, as the AppImage runtime does: what an AppImage user sees.
  const app = join(dir, 'appimage')
  cpSync(join(repoRoot, 'out'), join(app, 'out'), { recursive: true })
  symlinkSync(join(repoRoot, 'node_modules'), join(app, 'node_modules'))
  const appHome = join(dir, 'appimage-home')
  mkdirSync(appHome)
  const child = spawn(process.execPath, [join(app, 'out', 'main', 'cli.js'), 'serve', '--port', '0'], {
    env: isolatedEnv({ HEARTH_CLI_MAIN: '1', APPIMAGE: join(dir, 'Hearth-0.1.0-x86_64.AppImage'), HOME: appHome, XDG_CONFIG_HOME: join(appHome, '.config'), XDG_RUNTIME_DIR: join(dir, 'run-appimage'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none') }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    let log = ''
    child.stdout!.on('data', (d) => (log += d))
    child.stderr!.on('data', (d) => (log += d))
    await expect.poll(() => /Hearth is serving at (\S+)/.exec(log)?.[1], { timeout: 30_000 }).toBeTruthy()
    const url = /Hearth is serving at (\S+)/.exec(log)![1]
    await page.setViewportSize({ width: 1280, height: 900 })
    await openSettings(page, url)
    await expect(page.getByTestId('privilege-reason-settings')).toHaveText(/this AppImage cannot carry the privileged helper; install the hearth package/)
    await page.getByTestId('privilege-unavailable').scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(repoRoot, 'e2e/screenshots/settings-appimage.png'), fullPage: true })
  } finally {
    child.kill('SIGTERM')
  }
})
