import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSettings } from './settings'

const dirs: string[] = []
function tempEnv() {
  const home = mkdtempSync(join(tmpdir(), 'hearth-settings-'))
  dirs.push(home)
  return { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') }
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('settings', () => {
  it('persists updates in $XDG_CONFIG_HOME/hearth/settings.json and reads them back', async () => {
    const env = tempEnv()
    const s = await openSettings(env)
    expect(s.get().folders).toEqual([])
    await s.update({ folders: ['/models'] })
    await s.update({ pins: ['lmstudio:abc'] })
    const file = join(env.XDG_CONFIG_HOME, 'hearth', 'settings.json')
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ folders: ['/models'], pins: ['lmstudio:abc'] })
    const again = await openSettings(env)
    expect(again.get()).toMatchObject({ folders: ['/models'], pins: ['lmstudio:abc'], keepWarmThreshold: 0.95 })
  })

  it('keeps a damaged file aside instead of losing it, and says so', async () => {
    const env = tempEnv()
    const dir = join(env.XDG_CONFIG_HOME, 'hearth')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'settings.json'), '{ "folders": [')
    const s = await openSettings(env)
    expect(s.problem).toMatch(/could not be read/)
    expect(s.get().folders).toEqual([])
    const aside = readdirSync(dir).find((f) => f.startsWith('settings.json.broken-'))
    expect(aside).toBeDefined()
    expect(readFileSync(join(dir, aside!), 'utf8')).toBe('{ "folders": [')
  })

  it('replaces out-of-range values with defaults, field by field', async () => {
    const env = tempEnv()
    const dir = join(env.XDG_CONFIG_HOME, 'hearth')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ folders: ['/a'], lockMaxFraction: 7, keepWarmThreshold: 'x' }))
    const s = await openSettings(env)
    expect(s.get()).toMatchObject({ folders: ['/a'], lockMaxFraction: 0.5, keepWarmThreshold: 0.95 })
  })
})
