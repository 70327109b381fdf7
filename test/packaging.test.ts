// electron-builder cannot fetch Electron here, so check what can be checked: the config against
// electron-builder's own validator, the .desktop file, the install scripts and the icons.
import { describe, expect, it } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const require = createRequire(import.meta.url)

function loadYaml(file: string): Record<string, unknown> {
  const yaml = require('js-yaml') as { load(s: string): unknown }
  return yaml.load(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>
}

describe('packaging', () => {
  it('electron-builder.yml passes electron-builder validation', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(c: unknown, log: { isEnabled: boolean; add(): void }): Promise<void>
    }
    const config = loadYaml('electron-builder.yml')
    await expect(validateConfiguration(config, { isEnabled: false, add() {} })).resolves.toBeUndefined()
    // and a broken one is refused, so the check above means something
    await expect(validateConfiguration({ ...config, linux: { targte: 'deb' } }, { isEnabled: false, add() {} })).rejects.toThrow()
  })

  it('every file the config ships exists or is built by the test suite', () => {
    const config = loadYaml('electron-builder.yml') as { linux: { icon: string }; deb: { afterInstall: string; afterRemove: string } }
    expect(existsSync(join(root, config.linux.icon, '512x512.png'))).toBe(true)
    for (const s of [config.deb.afterInstall, config.deb.afterRemove]) {
      expect(statSync(join(root, s)).mode & 0o111).not.toBe(0)
      expect(spawnSync('sh', ['-n', join(root, s)]).status).toBe(0)
    }
  })

  it('the .desktop file is valid', () => {
    const file = join(root, 'assets/linux/hearth.desktop')
    const text = readFileSync(file, 'utf8')
    expect(text.startsWith('[Desktop Entry]\n')).toBe(true)
    for (const key of ['Type=Application', 'Name=Hearth', 'Exec=hearth', 'Icon=hearth']) expect(text).toContain(key)
    const validator = spawnSync('sh', ['-c', 'command -v desktop-file-validate'], { encoding: 'utf8' }).stdout.trim()
    if (validator) execFileSync(validator, [file]) // throws with its complaints
  })

  it('the icons are real PNGs of the named sizes', () => {
    for (const size of [16, 22, 32, 256, 512]) {
      const png = readFileSync(join(root, `assets/icons/png/${size}x${size}.png`))
      expect(png.subarray(1, 4).toString()).toBe('PNG')
      expect(png.readUInt32BE(16)).toBe(size)
      expect(png.readUInt32BE(20)).toBe(size)
    }
  })
})
