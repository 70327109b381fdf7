// Where Hearth keeps its own files, per the XDG base directory spec.
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface Env {
  [key: string]: string | undefined
}

export function homeDir(env: Env = process.env): string {
  return env.HOME && env.HOME.length > 0 ? env.HOME : homedir()
}

/** $XDG_CONFIG_HOME, or ~/.config (where autostart entries and user units live too) */
export function xdgConfigHome(env: Env = process.env): string {
  return env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homeDir(env), '.config')
}

export function configDir(env: Env = process.env): string {
  return join(xdgConfigHome(env), 'hearth')
}
