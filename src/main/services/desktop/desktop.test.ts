// Desktop settings through the contract: autostart writes and removes a valid XDG autostart entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBackend, type Backend } from '../../backend'
import { autostartEntry, autostartFile } from './autostart'
import { hearthCommand, headlessSwitches, loginCommand } from './launcher'
import { unitText } from '../../daemon/systemd'

const repoRoot = new URL('../../../../', import.meta.url).pathname

let home: string
let env: Record<string, string>
let backend: Backend

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'hearth-desktop-'))
  env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(home, 'none') }
  backend = await createBackend({ env })
})
afterAll(async () => {
  await backend?.stop()
  rmSync(home, { recursive: true, force: true })
})

function validate(file: string): void {
  execFileSync('desktop-file-validate', [file]) // throws with its complaints
}

describe('desktop settings', () => {
  it('defaults: tray on close on, autostart off, every notification on', async () => {
    expect(await backend.desktopSettings()).toEqual({
      trayOnClose: true,
      autostart: false,
      startInTray: true,
      warmDelaySeconds: 60,
      notifications: { jobDone: true, jobFailed: true, pinRewarmed: true, doctor: true },
    })
  })

  it('autostart on writes a valid entry that starts Hearth at login; off removes it', async () => {
    const file = autostartFile(env)
    expect(file).toBe(join(home, '.config/autostart/hearth.desktop'))
    const s = await backend.updateDesktopSettings({ autostart: true })
    expect(s.autostart).toBe(true)
    validate(file)
    const exec = /^Exec=(.*)$/m.exec(readFileSync(file, 'utf8'))![1]
    expect(exec).toMatch(/bin\/hearth\.js daemon --autostart$/) // a checkout: the headless daemon
    await backend.updateDesktopSettings({ autostart: false })
    expect(existsSync(file)).toBe(false)
  })

  it('the installed app starts in the tray when asked', () => {
    expect(loginCommand({ HEARTH_LAUNCHER: '/usr/bin/hearth' }, true)).toEqual(['/usr/bin/hearth', '--autostart', '--hidden'])
    expect(loginCommand({ HEARTH_LAUNCHER: '/usr/bin/hearth' }, false)).toEqual(['/usr/bin/hearth', '--autostart'])
    expect(loginCommand({ APPIMAGE: '/home/me/Apps/Hearth 1.0.AppImage' }, true)).toEqual(['/home/me/Apps/Hearth 1.0.AppImage', '--autostart', '--hidden'])
  })

  it("the CLI from an AppImage is the app's binary told --cli (without it the window opens), headless as the installed launcher runs it", () => {
    const appImage = '/home/me/Apps/Hearth 1.0.AppImage'
    expect(hearthCommand({ APPIMAGE: appImage })).toEqual([appImage, '--ozone-platform=headless', '--disable-gpu', '--no-sandbox', '--cli'])
    // the systemd unit runs `… --cli daemon`
    expect(unitText('user', hearthCommand({ APPIMAGE: appImage }))).toMatch(/^ExecStart=.*AppImage"? --ozone-platform=headless --disable-gpu --no-sandbox --cli daemon/m)
    // the installed launcher adds those itself, as assets/linux/hearth shows
    expect(hearthCommand({ HEARTH_LAUNCHER: '/usr/bin/hearth' })).toEqual(['/usr/bin/hearth'])
    const launcher = readFileSync(join(repoRoot, 'assets/linux/hearth'), 'utf8')
    expect(launcher).toContain(`exec "$app" ${headlessSwitches.join(' ')} --cli "$@"`)
  })

  it('quotes Exec arguments as the Desktop Entry spec asks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-autostart-'))
    try {
      const text = autostartEntry(['/home/me/My Apps/Hearth "x".AppImage', '--autostart'])
      expect(/^Exec=(.*)$/m.exec(text)![1]).toBe('"/home/me/My Apps/Hearth \\\\"x\\\\".AppImage" --autostart')
      const f = join(dir, 'hearth.desktop')
      writeFileSync(f, text)
      validate(f)
      expect(() => autostartEntry(['/bin/x', '100%'])).toThrow(/% in the command/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('settings persist, per key, and bad values are refused naming the field', async () => {
    await backend.updateDesktopSettings({ trayOnClose: false, notifications: { pinRewarmed: false } })
    const again = await createBackend({ env })
    expect(await again.desktopSettings()).toMatchObject({ trayOnClose: false, notifications: { jobDone: true, pinRewarmed: false } })
    await again.stop()
    await expect(backend.updateDesktopSettings({ warmDelaySeconds: -1 })).rejects.toMatchObject({ code: 'BAD_INPUT', message: /warmDelaySeconds/ })
    await expect(backend.updateDesktopSettings({ notifications: { loud: true } } as never)).rejects.toMatchObject({ code: 'BAD_INPUT' })
  })
})
