// The desktop shell: one window, the tray, notifications and the IPC glue. Thin on purpose —
// everything it shows comes from this user's one backend (its own, which others then attach
// to, or the running daemon's) through the same contract as `hearth serve` and the CLI.
import { app, BrowserWindow, ipcMain, Notification, session as electronSession, shell, Tray, nativeImage } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { DesktopSettings, HearthApi } from '../../shared/api'
import { defaultDesktopSettings, desktopSettingsFrom } from '../../shared/contract/daemon'
import { openSettings } from '../settings'
import { openSession, type Session } from '../daemon/session'
import { loginCommand } from '../services/desktop/launcher'
import { createIpcServer, ipcChannels, type IpcSender } from '../transport/ipc'
import { appFiles } from './files'
import { denyAllPermissions, isExternalLink, isRendererPage, rendererUrlFor } from './security'
import { driveTray, trayIconPath } from './tray'

// This module is a chunk (out/main/chunks): its files are found upwards from here.
const files = appFiles(dirname(fileURLToPath(import.meta.url)))
// ELECTRON_RENDERER_URL only in `electron-vite dev` builds (import.meta.env.DEV is false in a release).
const rendererUrl = rendererUrlFor({
  devBuild: import.meta.env.DEV && !app.isPackaged,
  env: process.env,
  indexFileUrl: pathToFileURL(files.rendererIndex).href,
})
const preloadPath = files.preload
const assetsDir = app.isPackaged ? join(process.resourcesPath, 'icons') : files.devIcons
const iconPath = join(assetsDir, 'hearth.png')
const trayIconDir = join(assetsDir, 'tray')
/** Started at login (the autostart entry adds --autostart; with "start in tray" also --hidden) */
const atLogin = process.argv.includes('--autostart')
const startHidden = process.argv.includes('--hidden')

let win: BrowserWindow | null = null
let tray: Tray | null = null
let session: Session | null = null
let feed: ReturnType<typeof driveTray> | null = null
let desktop: DesktopSettings = defaultDesktopSettings
let quitting = false

function showWindow(): void {
  feed?.acknowledge()
  if (win && !win.isDestroyed()) {
    win.show()
    win.focus()
    return
  }
  win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 720,
    minHeight: 560,
    title: 'Hearth',
    icon: iconPath,
    backgroundColor: '#0f1115',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  })
  // No navigation away from the app, no new windows; https links open in the real browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!isRendererPage(url, rendererUrl)) e.preventDefault()
  })
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  // Closing the window keeps Hearth in the tray (a setting, on by default): pins stay warm.
  win.on('close', (e) => {
    if (!quitting && desktop.trayOnClose && tray) {
      e.preventDefault()
      win?.hide()
    } else if (!quitting) app.quit()
  })
  void win.loadURL(rendererUrl)
}

/** The contract for the window: the session's, with desktop settings mirrored for the close handler. */
function windowApi(api: HearthApi): HearthApi {
  return {
    ...api,
    updateDesktopSettings: async (patch) => (desktop = await api.updateDesktopSettings(patch)),
  }
}

/** What the autostart entry runs: the installed launcher or AppImage, else this Electron build. */
function desktopLoginCommand(startInTray: boolean): string[] {
  if (process.env.HEARTH_LAUNCHER || process.env.APPIMAGE) return loginCommand(process.env, startInTray)
  const self = app.isPackaged ? [process.execPath] : [process.execPath, app.getAppPath()]
  return [...self, '--autostart', ...(startInTray ? ['--hidden'] : [])]
}

async function startApp(): Promise<void> {
  denyAllPermissions(electronSession.defaultSession)
  const stored = desktopSettingsFrom((await openSettings(process.env)).get().desktop)
  const s = await openSession({
    env: process.env,
    host: 'desktop',
    // At login, pinned models are warmed after a delay (and at idle I/O priority), not while the
    // desktop itself is starting.
    backendOptions: { keepWarmDelayMs: atLogin ? stored.warmDelaySeconds * 1000 : 0 },
    hostState: { loginCommand: desktopLoginCommand },
    log: (l) => console.error(`hearth: ${l}`),
  })
  session = s
  desktop = await s.api.desktopSettings().catch(() => stored)
  const api = windowApi(s.api)
  const server = createIpcServer(api, (sender, frameUrl) => win !== null && !win.isDestroyed() && sender.id === win.webContents.id && isRendererPage(frameUrl, rendererUrl))
  ipcMain.on(ipcChannels.toMain, (event, msg) => {
    const wc = event.sender
    const sender: IpcSender = {
      id: wc.id,
      send: (m) => {
        if (!wc.isDestroyed()) wc.send(ipcChannels.toRenderer, m)
      },
      onClosed: (cb) => wc.once('destroyed', cb),
    }
    server.handle(sender, event.senderFrame?.url, msg)
  })
  if (!startHidden) showWindow()

  tray = new Tray(nativeImage.createFromPath(trayIconPath(trayIconDir, 'idle', true)))
  tray.setToolTip('Hearth')
  tray.on('click', showWindow)
  feed = driveTray(tray, s.api, trayIconDir, { open: showWindow, quit: () => app.quit() })

  // Notices (long jobs, re-warmed pins, the doctor's findings) as desktop notifications; while
  // the app listens, the daemon does not also call notify-send.
  s.api.subscribe('notice', (n) => {
    if (!Notification.isSupported()) return
    const note = new Notification({ title: n.title, body: n.body, icon: iconPath, silent: n.kind !== 'jobFailed' && n.kind !== 'doctor' })
    note.on('click', showWindow)
    note.show()
  })
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', showWindow)
  app.on('window-all-closed', () => {
    // Stay in the tray: keep-warm and locks keep working with no window open.
  })
  app.on('before-quit', () => {
    quitting = true
    feed?.stop()
    void session?.close()
  })
  void app.whenReady().then(startApp)
}
