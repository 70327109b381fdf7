// Renders the tray menu model (trayMenu, a pure function tested in Node) into Electron items and
// dispatches its actions to the backend.
import type { MenuItemConstructorOptions } from 'electron'
import type { Backend } from '../backend'
import { trayMenu, type TrayAction, type TrayItem } from '../tray-menu'

export interface TrayActions {
  open(): void
  quit(): void
}

async function run(backend: Backend, action: TrayAction, actions: TrayActions): Promise<void> {
  switch (action.type) {
    case 'open':
      return actions.open()
    case 'quit':
      return actions.quit()
    case 'warm':
      // The tray has no room for a question: a warm that would evict others opens the window,
      // where the confirmation shows what would go.
      await backend.warm({ targets: [action.modelId] }).catch(() => actions.open())
      return
    case 'evictAll': {
      const ids = (await backend.modelResidency()).filter((r) => r.residentBytes > 0).map((r) => r.modelId)
      if (ids.length) await backend.evict({ targets: ids })
      return
    }
  }
}

export async function trayTemplate(backend: Backend, actions: TrayActions): Promise<MenuItemConstructorOptions[]> {
  const [catalog, residency, jobs, pins, locks] = await Promise.all([
    backend.catalog(),
    backend.modelResidency(),
    backend.jobs(),
    backend.pins(),
    backend.locks(),
  ])
  const items = trayMenu({
    models: catalog.models,
    residency,
    pins: pins.map((p) => p.modelId),
    jobs,
    lockedModelIds: locks.map((l) => l.modelId).filter((id): id is string => Boolean(id)),
  })
  return items.map((i: TrayItem): MenuItemConstructorOptions => {
    if (i.type === 'separator') return { type: 'separator' }
    if (i.type === 'header') return { label: i.label, enabled: false }
    return { label: i.label, enabled: i.enabled, toolTip: i.tooltip, click: () => void run(backend, i.action, actions) }
  })
}
