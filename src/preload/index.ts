// Exposes exactly the contract's message channel to the page, nothing else: the renderer
// builds HearthApi on top of it with the same client the WebSocket transport uses.
import { contextBridge, ipcRenderer } from 'electron'

const toMain = 'hearth:call'
const toRenderer = 'hearth:message'

contextBridge.exposeInMainWorld('hearth', {
  invoke(msg: unknown): void {
    ipcRenderer.send(toMain, msg)
  },
  onMessage(cb: (msg: unknown) => void): () => void {
    const listener = (_e: unknown, msg: unknown) => cb(msg)
    ipcRenderer.on(toRenderer, listener)
    return () => ipcRenderer.off(toRenderer, listener)
  },
})
