// How to start Hearth again from outside (an autostart entry, a systemd unit): the installed
// `hearth` command, the AppImage, or this checkout's node + bin/hearth.js.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Env } from '../../paths'
import { findUp } from '../../bundle-paths'

/**
 * Chromium's switches for the packaged binary run without a window (the CLI, the lab's loader):
 * the headless platform (no display needed), and no renderer sandbox (Chromium refuses root
 * otherwise). assets/linux/hearth passes the same.
 */
export const headlessSwitches = ['--ozone-platform=headless', '--disable-gpu', '--no-sandbox']

/** The `hearth` command (the CLI) of this installation, as an argv prefix. */
export function hearthCommand(env: Env): string[] {
  // /usr/bin/hearth (assets/linux/hearth) exports its own path: it adds --cli itself.
  if (env.HEARTH_LAUNCHER && env.HEARTH_LAUNCHER.startsWith('/')) return [env.HEARTH_LAUNCHER]
  // The AppImage runs the app's binary: without --cli it would open the window (src/main/index.ts).
  if (env.APPIMAGE && env.APPIMAGE.startsWith('/')) return [env.APPIMAGE, ...headlessSwitches, '--cli']
  return [process.execPath, checkoutBin()]
}

/** bin/hearth.js of this checkout (src/main/services/desktop in tests, out/main/chunks when built). */
function checkoutBin(): string {
  return findUp(dirname(fileURLToPath(import.meta.url)), 'bin/hearth.js') ?? join(process.cwd(), 'bin', 'hearth.js')
}

/**
 * What to start at login: the desktop app where there is one (packaged, AppImage), else — a
 * checkout without Electron — the headless daemon, which keeps pins warm just the same.
 */
export function loginCommand(env: Env, startInTray: boolean): string[] {
  const app = env.HEARTH_LAUNCHER?.startsWith('/') ? env.HEARTH_LAUNCHER : env.APPIMAGE?.startsWith('/') ? env.APPIMAGE : null
  if (app) return [app, '--autostart', ...(startInTray ? ['--hidden'] : [])]
  return [...hearthCommand(env), 'daemon', '--autostart']
}
