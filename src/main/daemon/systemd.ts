// The systemd units `hearth service install` writes (and the packages ship): a user unit for
// desktops, a system unit for GPU servers (pins and folders in /etc/hearth/settings.json).
import { HearthError } from '../../shared/errors'
import { xdgConfigHome, type Env } from '../paths'
import { join } from 'node:path'

export type ServiceScope = 'user' | 'system'

/** Where the unit goes for each scope (the admin's and the user's unit folders, not /usr/lib). */
export function unitPath(scope: ServiceScope, env: Env): string {
  if (scope === 'system') return '/etc/systemd/system/hearth.service'
  return join(xdgConfigHome(env), 'systemd', 'user', 'hearth.service')
}

/** One ExecStart word, quoted the way systemd.syntax(7) reads it. */
function execWord(arg: string): string {
  // A unit is lines: a line break in the launcher's path would start directives of its own.
  if (/[\n\r\0]/.test(arg)) throw new HearthError('BAD_INPUT', `cannot write a systemd unit for ${JSON.stringify(arg)}: a line break in the command; move Hearth to a path without one`)
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg.replace(/%/g, '%%')
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`
}

/** `hearth` as argv (from hearthCommand); the unit runs `… daemon --autostart`. */
export function unitText(scope: ServiceScope, hearth: string[]): string {
  const exec = [...hearth, 'daemon', '--autostart'].map(execWord).join(' ')
  const common = [
    'Type=simple',
    `ExecStart=${exec}`,
    'Restart=on-failure',
    'RestartSec=5',
    // Background work: a nice CPU priority and the lowest best-effort I/O priority, so a warm you
    // ask for still gets the disk when nothing else wants it; keep-warm re-reads drop to the idle
    // I/O class on their own. (Only BFQ honours I/O priorities; mq-deadline ignores them.)
    'Nice=10',
    'IOSchedulingClass=best-effort',
    'IOSchedulingPriority=7',
  ]
  if (scope === 'user') {
    return [
      '[Unit]',
      'Description=Hearth: keep pinned LLM model files warm in RAM',
      '',
      '[Service]',
      ...common,
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n')
  }
  return [
    '[Unit]',
    'Description=Hearth: keep pinned LLM model files warm in RAM (system-wide)',
    // Model folders may sit on network shares.
    'Wants=network-online.target',
    'After=network-online.target remote-fs.target local-fs.target',
    '',
    '[Service]',
    ...common,
    // Pins and model folders: /etc/hearth/settings.json. HOME only for the default roots' lookups.
    'Environment=XDG_CONFIG_HOME=/etc',
    'Environment=HOME=/var/lib/hearth',
    'StateDirectory=hearth',
    // The socket root's CLI attaches to (root only: 0700, peer uid checked).
    'RuntimeDirectory=hearth-daemon',
    'RuntimeDirectoryMode=0700',
    // Locking models in RAM needs room beyond the default 8 MiB.
    'LimitMEMLOCK=infinity',
    'NoNewPrivileges=yes',
    // No ProtectSystem/PrivateTmp/PrivateMounts: RAM-disk staging bind-mounts over model files,
    // and those mounts must be seen by the inference servers outside this unit.
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}
