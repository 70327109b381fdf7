// The desktop window's security decisions (issue 8 item 17), exercised in Node: app.ts applies
// exactly these functions (Electron itself cannot start here).
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { denyAllPermissions, isExternalLink, isRendererPage, rendererUrlFor, type PermissionSession } from './security'

const indexFileUrl = 'file:///opt/Hearth/resources/app.asar/out/renderer/index.html'

describe('the desktop window (item 17)', () => {
  it('a release build ignores ELECTRON_RENDERER_URL', () => {
    expect(rendererUrlFor({ devBuild: false, env: { ELECTRON_RENDERER_URL: 'https://evil.example/' }, indexFileUrl })).toBe(indexFileUrl)
    expect(rendererUrlFor({ devBuild: false, env: { ELECTRON_RENDERER_URL: 'http://localhost:5173' }, indexFileUrl })).toBe(indexFileUrl)
  })

  it('a development build loads the local dev server, and nothing remote', () => {
    expect(rendererUrlFor({ devBuild: true, env: { ELECTRON_RENDERER_URL: 'http://localhost:5173' }, indexFileUrl })).toBe('http://localhost:5173/')
    expect(rendererUrlFor({ devBuild: true, env: {}, indexFileUrl })).toBe(indexFileUrl)
    expect(() => rendererUrlFor({ devBuild: true, env: { ELECTRON_RENDERER_URL: 'https://evil.example/' }, indexFileUrl })).toThrow(/only a local http dev server/)
  })

  it('recognises the renderer page exactly, never by prefix', () => {
    const dev = 'http://localhost:5173/'
    expect(isRendererPage('http://localhost:5173/', dev)).toBe(true)
    expect(isRendererPage('http://localhost:5173/?x=1#/planner', dev)).toBe(true)
    expect(isRendererPage('http://localhost:5173.evil.example/', dev)).toBe(false)
    expect(isRendererPage('http://localhost:51730/', dev)).toBe(false)
    expect(isRendererPage('http://localhost:5173/other.html', dev)).toBe(false)
    expect(isRendererPage(`${indexFileUrl}#/jobs`, indexFileUrl)).toBe(true)
    expect(isRendererPage(indexFileUrl.replace('index.html', 'index.html.evil'), indexFileUrl)).toBe(false)
    expect(isRendererPage(undefined, indexFileUrl)).toBe(false)
    expect(isRendererPage('not a url', indexFileUrl)).toBe(false)
  })

  it('every web permission request and check is denied', () => {
    let request: Parameters<PermissionSession['setPermissionRequestHandler']>[0] = null
    let check: Parameters<PermissionSession['setPermissionCheckHandler']>[0] = null
    denyAllPermissions({ setPermissionRequestHandler: (h) => (request = h), setPermissionCheckHandler: (h) => (check = h) })
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'hid', 'serial', 'openExternal', 'fullscreen']) {
      const answers: boolean[] = []
      request!(null, permission, (granted) => answers.push(granted), {})
      expect(answers).toEqual([false])
      expect(check!(null, permission, 'file://', {})).toBe(false)
    }
  })

  it('only https links leave the app (to the system browser)', () => {
    expect(isExternalLink('https://github.com/')).toBe(true)
    for (const url of ['http://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'nonsense']) expect(isExternalLink(url)).toBe(false)
  })

  it('app.ts applies these decisions (not a copy of them)', () => {
    const app = readFileSync(new URL('./app.ts', import.meta.url), 'utf8')
    expect(app).toMatch(/denyAllPermissions\(electronSession\.defaultSession\)/)
    expect(app).toMatch(/devBuild: import\.meta\.env\.DEV && !app\.isPackaged/)
    expect(app).not.toMatch(/startsWith\(/)
    expect(app.match(/isRendererPage\(/g)?.length).toBeGreaterThanOrEqual(2) // navigation and IPC trust
  })
})
