// What the Electron preload exposes on window.hearth (contextBridge), and nothing more: the
// renderer sends ClientMessages and receives ServerMessages, exactly the WebSocket wire protocol,
// so one RPC client (src/shared/rpc.ts) serves both transports.
import type { ClientMessage, ServerMessage } from '../shared/rpc'

export interface HearthBridge {
  /** Delivers one message to the backend; replies and events arrive through onMessage. */
  invoke(msg: ClientMessage): unknown
  /** Registers the one listener for every reply and event. */
  onMessage(cb: (msg: ServerMessage) => void): () => void
}

declare global {
  interface Window {
    hearth?: HearthBridge
  }
}
