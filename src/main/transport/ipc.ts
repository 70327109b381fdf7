// The Electron IPC transport, written against a minimal sender interface so it runs (and is
// tested) in plain Node; src/main/electron/ adapts ipcMain and webContents to it.
import type { HearthApi } from '../../shared/api'
import { maxClientMessageBytes, serveConnection, type ServerMessage } from '../../shared/rpc'

export const ipcChannels = { toMain: 'hearth:call', toRenderer: 'hearth:message' } as const

export interface IpcSender {
  /** webContents id: one connection per window */
  id: number
  send(msg: ServerMessage): void
  onClosed(cb: () => void): void
}

export function createIpcServer(api: HearthApi, isTrusted: (sender: IpcSender, frameUrl: string | undefined) => boolean) {
  const conns = new Map<number, ReturnType<typeof serveConnection>>()
  return {
    /** Feed every message from ipcMain here, with the frame URL the message came from. */
    handle(sender: IpcSender, frameUrl: string | undefined, msg: unknown): void {
      if (!isTrusted(sender, frameUrl)) return // an untrusted frame gets no answer at all
      let conn = conns.get(sender.id)
      if (!conn) {
        conn = serveConnection(api, (m) => sender.send(m))
        conns.set(sender.id, conn)
        sender.onClosed(() => {
          conns.get(sender.id)?.close()
          conns.delete(sender.id)
        })
      }
      // Structured clone already parsed it; bound its size like the WebSocket does.
      let size = 0
      try {
        size = JSON.stringify(msg)?.length ?? 0
      } catch {
        size = Infinity
      }
      if (size > maxClientMessageBytes) {
        sender.send({ t: 'error', error: { code: 'BAD_INPUT', message: `message of ${size} bytes exceeds ${maxClientMessageBytes}` } })
        return
      }
      void conn.onMessage(msg)
    },
    close(): void {
      for (const c of conns.values()) c.close()
      conns.clear()
    },
  }
}
