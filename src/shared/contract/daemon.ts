// The long-lived backend itself: who runs it, the desktop settings it applies (tray, autostart,
// notifications) and the notices it raises.
import { z } from 'zod'
import { command, noInput, query } from './define'

/** What kind of process holds the backend that answered */
export type BackendHost = 'desktop' | 'daemon' | 'serve' | 'cli'

export interface DaemonInfo {
  pid: number
  uid: number
  host: BackendHost
  version: string
  startedAtMs: number
  /** The settings folder it reads (a client with another one is another user's setup: not ours) */
  configDir: string
  /** The UNIX socket others attach to; null when this backend does not listen (a lone CLI) */
  socketPath: string | null
  /** Clients attached through the socket now */
  clients: number
}

export const noticeKinds = ['jobDone', 'jobFailed', 'pinRewarmed', 'doctor'] as const
export type NoticeKind = (typeof noticeKinds)[number]

/** A desktop notification, as raised (whether it was shown or suppressed). */
export interface Notice {
  kind: NoticeKind
  title: string
  body: string
  atMs: number
  /** Why it was not shown: turned off in settings, or rate-limited */
  suppressed?: 'off' | 'rate-limited'
}

export interface DesktopSettings {
  /** Closing the window keeps Hearth in the tray, pins warm (on by default) */
  trayOnClose: boolean
  /** Start at login through an XDG autostart entry (off by default) */
  autostart: boolean
  /** At login, start in the tray without opening the window */
  startInTray: boolean
  /** Seconds after a start at login before pinned models are warmed (idle I/O priority) */
  warmDelaySeconds: number
  /** Each kind of notification on or off */
  notifications: Record<NoticeKind, boolean>
}

export const defaultDesktopSettings: DesktopSettings = {
  trayOnClose: true,
  autostart: false,
  startInTray: true,
  warmDelaySeconds: 60,
  notifications: { jobDone: true, jobFailed: true, pinRewarmed: true, doctor: true },
}

const noticeSwitches = z.object(Object.fromEntries(noticeKinds.map((k) => [k, z.boolean()])) as Record<NoticeKind, z.ZodBoolean>)

export const desktopSettingsSchema = z.object({
  trayOnClose: z.boolean(),
  autostart: z.boolean(),
  startInTray: z.boolean(),
  warmDelaySeconds: z.number().int().min(0, 'warmDelaySeconds must be 0 or more').max(3600, 'warmDelaySeconds must be at most 3600'),
  notifications: noticeSwitches,
})

export const daemonMethods = {
  daemonInfo: query<DaemonInfo>()(noInput),
  desktopSettings: query<DesktopSettings>()(noInput),
  /** Changes some settings; turning autostart on writes ~/.config/autostart/hearth.desktop, off removes it. */
  updateDesktopSettings: command<DesktopSettings>()(
    desktopSettingsSchema.extend({ notifications: noticeSwitches.partial().strict() }).partial().strict(),
  ),
  /** The most recent notices, newest last (shown and suppressed) */
  notices: query<Notice[]>()(noInput),
}

export interface DaemonTopics {
  /** Each notice to show: the desktop app shows it; with no one listening, the daemon uses notify-send */
  notice: Notice
}

/** Stored settings (maybe from an older or newer Hearth) over the defaults, key by key. */
export function desktopSettingsFrom(raw: unknown): DesktopSettings {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const pick = <K extends Exclude<keyof DesktopSettings, 'notifications'>>(k: K): DesktopSettings[K] => {
    const ok = desktopSettingsSchema.shape[k].safeParse(r[k])
    return ok.success ? (ok.data as DesktopSettings[K]) : defaultDesktopSettings[k]
  }
  const n = (typeof r.notifications === 'object' && r.notifications !== null ? r.notifications : {}) as Record<string, unknown>
  const notifications = { ...defaultDesktopSettings.notifications }
  for (const k of noticeKinds) if (typeof n[k] === 'boolean') notifications[k] = n[k] as boolean
  return { trayOnClose: pick('trayOnClose'), autostart: pick('autostart'), startInTray: pick('startInTray'), warmDelaySeconds: pick('warmDelaySeconds'), notifications }
}
