// The contract's daemon methods: who holds the backend, the desktop settings it applies, notices.
import { HearthError, type DaemonInfo, type DesktopSettings, type Notice } from '../../shared/api'
import { desktopSettingsFrom } from '../../shared/contract/daemon'
import type { Context } from '../context'
import { configDir } from '../paths'
import { applyAutostart } from '../services/desktop/autostart'
import { loginCommand } from '../services/desktop/launcher'
import { hearthVersion } from '../version'

type Patch = Partial<Omit<DesktopSettings, 'notifications'>> & { notifications?: Partial<DesktopSettings['notifications']> }

export function daemonApi(ctx: Context) {
  const current = () => desktopSettingsFrom(ctx.settings.get().desktop)
  return {
    daemonInfo: async (): Promise<DaemonInfo> => ({
      pid: process.pid,
      uid: process.getuid?.() ?? -1,
      host: ctx.host.kind,
      version: hearthVersion,
      startedAtMs: ctx.host.startedAtMs,
      configDir: configDir(ctx.env),
      socketPath: ctx.host.socketPath,
      clients: ctx.host.clients(),
    }),
    desktopSettings: async (): Promise<DesktopSettings> => current(),
    updateDesktopSettings: async (patch: Patch): Promise<DesktopSettings> => {
      const before = current()
      const next: DesktopSettings = { ...before, ...patch, notifications: { ...before.notifications, ...patch.notifications } }
      if (next.autostart !== before.autostart || (next.autostart && next.startInTray !== before.startInTray)) {
        const argv = (ctx.host.loginCommand ?? ((tray: boolean) => loginCommand(ctx.env, tray)))(next.startInTray)
        await applyAutostart(ctx.env, next.autostart, argv).catch((err: Error) => {
          throw new HearthError('IO', `could not ${next.autostart ? 'write' : 'remove'} the autostart entry: ${err.message}`)
        })
      }
      await ctx.settings.update({ desktop: next })
      return next
    },
    notices: async (): Promise<Notice[]> => ctx.notify.recent(),
  }
}
