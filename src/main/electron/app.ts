// The desktop shell: one window, the tray, and the IPC glue. Thin on purpose — everything it
// shows comes from the same backend and contract as `hearth serve` and the CLI.
import { app, BrowserWindow, ipcMain, Menu, Tray, nativeImage, shell } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createBackend, type Backend } from '../backend'
import { createIpcServer, ipcChannels, type IpcSender } from '../transport/ipc'
import { trayTemplate } from './tray'

const here = dirname(fileURLToPath(import.meta.url))
const rendererUrl = process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(join(here, '../renderer/index.html')).href
const preloadPath = join(here, '../preload/index.cjs')
const iconPath = join(here, '../../assets/icons/hearth.png')

let win: BrowserWindow | null = null
let tray: Tray | null = null
let backend: Backend | null = null

function isOurPage(url: string | undefined): boolean {
  if (!url) return false
  if (process.env.ELECTRON_RENDERER_URL) return url.startsWith(process.env.ELECTRON_RENDERER_URL)
  return url.split(/[?#]/)[0] === rendererUrl
}

function showWindow(): void {
  if (win && !win.isDestroyed()) {
    win.show()
    win.focus()
    return
  }
  win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
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
  // No navigation away from the app, no new windows; web links open in the real browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!isOurPage(url)) e.preventDefault()
  })
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  void win.loadURL(rendererUrl)
}

async function startApp(): Promise<void> {
  backend = await createBackend()
  const server = createIpcServer(backend, (sender, frameUrl) => win !== null && !win.isDestroyed() && sender.id === win.webContents.id && isOurPage(frameUrl))
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
  showWindow()
  await backend.start()

  tray = new Tray(nativeImage.createFromPath(iconPath))
  tray.setToolTip('Hearth')
  const refreshTray = async () => {
    if (!backend || !tray) return
    const template = await trayTemplate(backend, { open: showWindow, quit: () => app.quit() })
    tray.setContextMenu(Menu.buildFromTemplate(template))
  }
  await refreshTray()
  backend.subscribe('residency', () => void refreshTray())
  backend.subscribe('catalog', () => void refreshTray())
  tray.on('click', showWindow)
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', showWindow)
  app.on('window-all-closed', () => {
    // Stay in the tray: keep-warm and locks keep working with no window open.
  })
  app.on('before-quit', () => void backend?.stop())
  void app.whenReady().then(startApp)
}
