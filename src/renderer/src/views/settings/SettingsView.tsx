// Settings: what keeps Hearth running without its window (tray on close, start at login, the
// backend this window talks to), which notifications it shows, and whether privileged actions
// (RAM-disk staging) work here and, when not, why (an AppImage, for one, cannot carry the helper).
import { useEffect, useState, type ReactNode } from 'react'
import type { DaemonInfo, DesktopSettings, Notice, NoticeKind, PrivilegeInfo } from '../../../../shared/api'
import { Panel } from '../../components/Card'
import { hearth, onReconnect } from '../../hearth'

type Patch = Partial<Omit<DesktopSettings, 'notifications'>> & { notifications?: Partial<DesktopSettings['notifications']> }

const noticeText: Record<NoticeKind, { label: string; detail: string }> = {
  jobDone: { label: 'Long jobs finished', detail: 'a warm, lock or staging that took more than 15 seconds' },
  jobFailed: { label: 'Jobs failed', detail: 'a warm, staging or keep-warm that failed, with the reason' },
  pinRewarmed: { label: 'Pinned model warmed back', detail: 'a pinned model fell below its threshold and was read back into RAM' },
  doctor: { label: 'New problems found', detail: 'the doctor found something new that slows loads (limits, swap, filesystems)' },
}

function Switch({ id, checked, disabled, onChange, label, detail }: { id: string; checked: boolean; disabled?: boolean; onChange: (v: boolean) => void; label: ReactNode; detail?: ReactNode }) {
  return (
    <label className={`flex items-start gap-3 py-2 ${disabled ? 'opacity-50' : 'cursor-pointer'}`} htmlFor={id}>
      <button
        id={id}
        type="button"
        role="switch"
        aria-checked={checked}
        disabled={disabled}
        data-testid={id}
        onClick={() => onChange(!checked)}
        className={`relative mt-0.5 inline-flex h-5 w-9 shrink-0 rounded-full transition-colors ${checked ? 'bg-orange-500' : 'bg-zinc-300 dark:bg-zinc-700'}`}
      >
        <span className={`absolute top-0.5 h-4 w-4 rounded-full bg-white shadow transition-transform ${checked ? 'translate-x-4' : 'translate-x-0.5'}`} />
      </button>
      <span className="min-w-0">
        <span className="block text-sm text-zinc-800 dark:text-zinc-100">{label}</span>
        {detail && <span className="block text-xs text-zinc-500">{detail}</span>}
      </span>
    </label>
  )
}

function hostName(info: DaemonInfo): string {
  return { desktop: 'the desktop app', daemon: 'the Hearth daemon', serve: 'hearth serve', cli: 'a hearth command' }[info.host]
}

function Backend({ info }: { info: DaemonInfo | null }) {
  if (!info) return null
  return (
    <p className="mt-2 rounded-lg bg-zinc-50 p-2 text-xs text-zinc-600 dark:bg-zinc-800/60 dark:text-zinc-300" data-testid="backend-info">
      This window talks to {hostName(info)} (pid {info.pid}, running since {new Date(info.startedAtMs).toLocaleString()}).{' '}
      {info.socketPath ? (
        <>The CLI and other windows attach to it through <code className="break-all">{info.socketPath}</code>{info.clients ? ` (${info.clients} attached now)` : ''}: their jobs and pins are the same.</>
      ) : (
        'It is not shared with other Hearth windows or commands.'
      )}
    </p>
  )
}

function Privilege({ p }: { p: PrivilegeInfo | null }) {
  if (!p) return null
  return p.available ? (
    <p className="text-sm text-zinc-700 dark:text-zinc-200" data-testid="privilege-ok">
      Available {p.mode === 'root' ? '(Hearth runs as root)' : '(through pkexec: your password once per session)'}: RAM-disk staging, locks beyond your memory-lock limit and the inotify fix.
    </p>
  ) : (
    <div className="text-sm" data-testid="privilege-unavailable">
      <p className="font-medium text-amber-700 dark:text-amber-400">RAM-disk staging is not available here.</p>
      <p className="mt-1 text-zinc-700 dark:text-zinc-200" data-testid="privilege-reason-settings">{p.reason}</p>
      <p className="mt-1 text-xs text-zinc-500">
        Staging mounts a copy in RAM over the model file, which only a root-owned helper at a fixed path may do (pkexec runs nothing else). The .deb and .rpm install it at /usr/libexec/hearth/hearth-helper; warming, evicting, locking within your limit and pins work without it.
      </p>
    </div>
  )
}

export function SettingsView() {
  const [s, setS] = useState<DesktopSettings | null>(null)
  const [info, setInfo] = useState<DaemonInfo | null>(null)
  const [privilege, setPrivilege] = useState<PrivilegeInfo | null>(null)
  const [notices, setNotices] = useState<Notice[]>([])
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    const api = hearth()
    const load = () => {
      api.desktopSettings().then(setS, (e: Error) => setError(e.message))
      api.daemonInfo().then(setInfo, () => setInfo(null))
      api.privilegeStatus().then(setPrivilege, () => setPrivilege(null))
      api.notices().then(setNotices, () => setNotices([]))
    }
    load()
    return onReconnect(load)
  }, [])

  const update = (patch: Patch) => {
    setError(null)
    hearth()
      .updateDesktopSettings(patch)
      .then(setS, (e: Error) => setError(e.message))
  }

  if (!s) return <p className="text-sm text-zinc-500">{error ?? 'Loading settings…'}</p>
  return (
    <div className="grid max-w-3xl gap-4" data-testid="settings">
      {error && (
        <p role="alert" className="rounded-lg border border-red-300 bg-red-50 p-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      )}
      <Panel title="Keep models warm without the window">
        <Switch
          id="setting-tray-on-close"
          checked={s.trayOnClose}
          onChange={(v) => update({ trayOnClose: v })}
          label="Keep running in the tray when the window closes"
          detail="Pinned models stay warm and locks stay held; Quit in the tray menu stops Hearth."
        />
        <Switch
          id="setting-autostart"
          checked={s.autostart}
          onChange={(v) => update({ autostart: v })}
          label="Start Hearth when I log in"
          detail="Adds Hearth to your desktop's autostart (~/.config/autostart/hearth.desktop); off removes it."
        />
        <div className="ml-12">
          <Switch
            id="setting-start-in-tray"
            checked={s.startInTray}
            disabled={!s.autostart}
            onChange={(v) => update({ startInTray: v })}
            label="Start in the tray, without opening the window"
          />
          <label className={`flex flex-wrap items-center gap-2 py-2 text-sm ${s.autostart ? '' : 'opacity-50'}`}>
            Warm pinned models
            <input
              type="number"
              min={0}
              max={3600}
              disabled={!s.autostart}
              data-testid="setting-warm-delay"
              aria-label="Seconds after login before pinned models are warmed"
              className="w-20 rounded border px-2 py-0.5 dark:bg-zinc-800"
              value={s.warmDelaySeconds}
              onChange={(e) => {
                const v = Math.round(Number(e.target.value))
                if (Number.isFinite(v) && v >= 0 && v <= 3600) update({ warmDelaySeconds: v })
              }}
            />
            seconds after login, at idle disk priority
          </label>
        </div>
        <Backend info={info} />
        <p className="mt-2 text-xs text-zinc-500">
          On a server, or to keep pins warm with no desktop session: <code>hearth service install --user</code> (or <code>--system</code> as root) runs the same backend under systemd.
        </p>
      </Panel>

      <Panel title="Notifications">
        {(Object.keys(noticeText) as NoticeKind[]).map((k) => (
          <Switch key={k} id={`setting-notify-${k}`} checked={s.notifications[k]} onChange={(v) => update({ notifications: { [k]: v } })} label={noticeText[k].label} detail={noticeText[k].detail} />
        ))}
        <p className="mt-1 text-xs text-zinc-500">At most three of a kind a minute; the same one again only after ten minutes.</p>
        {notices.length > 0 && (
          <details className="mt-2 text-xs" data-testid="recent-notices">
            <summary className="cursor-pointer text-zinc-600 dark:text-zinc-300">Recent ({notices.length})</summary>
            <ul className="mt-1 space-y-1">
              {[...notices].reverse().map((n, i) => (
                <li key={i} className={n.suppressed ? 'text-zinc-400' : ''}>
                  {new Date(n.atMs).toLocaleTimeString()} — {n.title}: {n.body}
                  {n.suppressed && ` (not shown: ${n.suppressed === 'off' ? 'turned off' : 'rate-limited'})`}
                </li>
              ))}
            </ul>
          </details>
        )}
      </Panel>

      <Panel title="Privileged actions">
        <Privilege p={privilege} />
      </Panel>
    </div>
  )
}
