// Start at login: an XDG autostart entry (~/.config/autostart/hearth.desktop), which every
// freedesktop session (GNOME, KDE, Xfce, …) runs at login. Written when the setting turns on,
// removed when it turns off; never touched otherwise.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { xdgConfigHome, type Env } from '../../paths'

export function autostartFile(env: Env): string {
  return join(xdgConfigHome(env), 'autostart', 'hearth.desktop')
}

/** One Exec argument, quoted as the Desktop Entry spec asks (then escaped as a string value). */
function execArg(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  const quoted = `"${arg.replace(/(["`$\\])/g, '\\$1')}"`
  return quoted.replace(/\\/g, '\\\\')
}

export function autostartEntry(argv: string[]): string {
  if (argv.some((a) => a.includes('\n') || a.includes('%'))) throw new Error(`cannot write an autostart entry for ${JSON.stringify(argv)}: a newline or % in the command`)
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Hearth',
    'Comment=Keep pinned models warm in RAM (started at login)',
    `Exec=${argv.map(execArg).join(' ')}`,
    'Icon=hearth',
    'Terminal=false',
    'NoDisplay=true',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n')
}

/** Writes (on) or removes (off) the entry; atomic, so a crash never leaves half a file. */
export async function applyAutostart(env: Env, on: boolean, argv: string[]): Promise<void> {
  const file = autostartFile(env)
  if (!on) {
    await rm(file, { force: true })
    return
  }
  await mkdir(join(file, '..'), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, autostartEntry(argv), { mode: 0o644 })
  await rename(tmp, file)
}
