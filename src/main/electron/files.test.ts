// The desktop app is a chunk of the main bundle (out/main/chunks/app-*.js, imported lazily by
// out/main/index.js): its renderer page, preload script and icons must be found from there.
// Checked against the real build, since the Electron window cannot start on this machine.
import { describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { appFiles } from './files'

const root = new URL('../../..', import.meta.url).pathname
const out = join(root, 'out')

describe('the desktop app finds its files from its bundle', () => {
  it('from the built app chunk: out/renderer/index.html, out/preload/index.cjs and the checkout icons', () => {
    expect(existsSync(join(out, 'main/index.js')), 'the build is missing: npm test builds first (npm run build)').toBe(true)
    const chunks = join(out, 'main/chunks')
    const app = readdirSync(chunks).find((f) => /^app-[\w-]+\.js$/.test(f) && readFileSync(join(chunks, f), 'utf8').includes('appFiles('))
    expect(app, `the app chunk that calls appFiles() in ${chunks}`).toBeDefined()
    const files = appFiles(chunks)
    expect(files.rendererIndex).toBe(join(out, 'renderer/index.html'))
    expect(files.preload).toBe(join(out, 'preload/index.cjs'))
    expect(files.devIcons).toBe(join(root, 'assets/icons'))
    for (const f of Object.values(files)) expect(existsSync(f), f).toBe(true)
  })

  it('from a packaged app: resources/app.asar/out/main/chunks finds out/renderer and out/preload there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-app-files-'))
    try {
      const appOut = join(dir, 'opt/Hearth/resources/app/out')
      for (const f of ['renderer/index.html', 'renderer/assets/index.js', 'preload/index.cjs', 'main/index.js']) {
        mkdirSync(dirname(join(appOut, f)), { recursive: true })
        writeFileSync(join(appOut, f), '')
      }
      mkdirSync(join(appOut, 'main/chunks'))
      const files = appFiles(join(appOut, 'main/chunks'))
      expect(files.rendererIndex).toBe(join(appOut, 'renderer/index.html'))
      expect(files.preload).toBe(join(appOut, 'preload/index.cjs'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
