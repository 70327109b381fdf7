// The desktop window's security decisions as plain functions (no 'electron' import), so Node
// tests exercise exactly what app.ts applies: which page the window may load, which frames may
// use the contract, and that no web permission is ever granted.

/**
 * The renderer to load. ELECTRON_RENDERER_URL (electron-vite's dev server) is honoured only in a
 * development build: in a release, an environment variable must not be able to point the window,
 * and with it the whole contract, at another page.
 */
export function rendererUrlFor(opts: { devBuild: boolean; env: { ELECTRON_RENDERER_URL?: string }; indexFileUrl: string }): string {
  const dev = opts.devBuild ? opts.env.ELECTRON_RENDERER_URL : undefined
  if (!dev) return opts.indexFileUrl
  const u = new URL(dev)
  // Only a dev server on this machine: a remote URL would hand the contract to that server.
  if (u.protocol !== 'http:' || !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) {
    throw new Error(`ELECTRON_RENDERER_URL ${dev}: only a local http dev server may be loaded`)
  }
  return u.href
}

/** The page address without query and fragment, normalised the way Chromium reports it. */
function pageOf(url: string): string | null {
  try {
    const u = new URL(url)
    u.search = ''
    u.hash = ''
    return u.href
  } catch {
    return null
  }
}

/**
 * Whether `url` is the renderer page itself: compared exactly (after dropping query and hash),
 * never by prefix — "http://localhost:5173" is a prefix of "http://localhost:5173.evil.example/".
 */
export function isRendererPage(url: string | undefined, rendererUrl: string): boolean {
  if (!url) return false
  const page = pageOf(url)
  return page !== null && page === pageOf(rendererUrl)
}

/** What app.ts hands a session: Electron's Session has these two methods. */
export interface PermissionSession {
  setPermissionRequestHandler(handler: ((webContents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void) | null): void
  setPermissionCheckHandler(handler: ((webContents: unknown, permission: string, requestingOrigin: string, details: unknown) => boolean) | null): void
}

/** Hearth's UI needs no camera, microphone, geolocation, notifications permission, HID…: deny all. */
export function denyAllPermissions(session: PermissionSession): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}

/** Links the window may hand to the system browser (never file:, javascript:, custom schemes). */
export function isExternalLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:'
  } catch {
    return false
  }
}
