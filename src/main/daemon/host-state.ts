// What the backend knows about the process that holds it, filled in by that process (the desktop
// app, `hearth daemon`, `hearth serve`, or a lone CLI) and reported through daemonInfo().
import type { BackendHost } from '../../shared/api'

export interface HostState {
  kind: BackendHost
  startedAtMs: number
  /** Set once the backend listens for others on its UNIX socket */
  socketPath: string | null
  clients: () => number
  /** argv that starts this installation at login (the autostart entry's Exec) */
  loginCommand?: (startInTray: boolean) => string[]
}

export function newHostState(kind: BackendHost = 'cli'): HostState {
  return { kind, startedAtMs: Date.now(), socketPath: null, clients: () => 0 }
}
