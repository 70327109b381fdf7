// Renders the tray menu model (a pure function in src/main) into Electron menu items.
import type { MenuItemConstructorOptions } from 'electron'
import type { Backend } from '../backend'

export interface TrayActions {
  open(): void
  quit(): void
}

export async function trayTemplate(_backend: Backend, actions: TrayActions): Promise<MenuItemConstructorOptions[]> {
  return [
    { label: 'Open Hearth', click: actions.open },
    { type: 'separator' },
    { label: 'Quit', click: actions.quit },
  ]
}
