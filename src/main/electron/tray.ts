// Renders the tray from the pushed state (createTrayFeed in ../tray-menu.ts: tested in Node) into
// Electron's menu and icon, and dispatches the menu's actions to the backend.
import { Menu, nativeImage, nativeTheme, type MenuItemConstructorOptions, type Tray } from 'electron'
import { join } from 'node:path'
import type { HearthApi } from '../../shared/api'
import { createTrayFeed, trayMenu, type TrayAction, type TrayIconState, type TrayItem, type TrayView } from '../tray-menu'

export interface TrayActions {
  open(): void
  quit(): void
}

async function run(api: HearthApi, view: TrayView, action: TrayAction, actions: TrayActions): Promise<void> {
  switch (action.type) {
    case 'open':
      return actions.open()
    case 'quit':
      return actions.quit()
    case 'warm':
      // The tray has no room for a question: a warm that would evict others opens the window,
      // where the confirmation shows what would go.
      await api.warm({ targets: [action.modelId] }).catch(() => actions.open())
      return
    case 'evictAll': {
      // From the state the tray already holds: nothing is measured again for a click.
      const locked = new Set(view.state.lockedModelIds ?? [])
      const ids = view.state.residency.filter((r) => r.residentBytes > 0 && !locked.has(r.modelId)).map((r) => r.modelId)
      if (ids.length) await api.evict({ targets: ids }).catch(() => actions.open())
      return
    }
  }
}

export function trayTemplate(api: HearthApi, view: TrayView, actions: TrayActions): MenuItemConstructorOptions[] {
  return trayMenu(view.state).map((i: TrayItem): MenuItemConstructorOptions => {
    if (i.type === 'separator') return { type: 'separator' }
    if (i.type === 'header') return { label: i.label, enabled: false }
    return { label: i.label, enabled: i.enabled, toolTip: i.tooltip, click: () => void run(api, view, i.action, actions) }
  })
}

/** The icon for a state on this panel (a dark panel gets the light glyph); @2x is picked up beside it. */
export function trayIconPath(iconDir: string, state: TrayIconState, darkPanel: boolean, size = 22): string {
  return join(iconDir, `hearth-${state}-${darkPanel ? 'dark' : 'light'}-${size}.png`)
}

/** Keeps `tray` in step with the backend's pushes; returns the feed (stop it on quit). */
export function driveTray(tray: Tray, api: HearthApi, iconDir: string, actions: TrayActions) {
  let last: TrayView | null = null
  const paint = (view: TrayView) => {
    last = view
    tray.setImage(nativeImage.createFromPath(trayIconPath(iconDir, view.icon, nativeTheme.shouldUseDarkColors)))
    tray.setToolTip(view.tooltip)
    tray.setContextMenu(Menu.buildFromTemplate(trayTemplate(api, view, actions)))
  }
  const feed = createTrayFeed(api, paint)
  nativeTheme.on('updated', () => last && paint(last))
  return feed
}
