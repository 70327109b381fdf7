// Picks how the UI reaches the backend, once, at start: Electron's preload bridge when present,
// else a WebSocket to the `hearth serve` that served this page. Both speak the same messages, so
// the HearthApi is built once from the contract by createRpcClient.
import type { HearthApi } from '../../shared/api'
import { HearthError } from '../../shared/errors'
import { createRpcClient, type ClientMessage, type ServerMessage } from '../../shared/rpc'
import { useConnection } from './stores/connection'

export interface Transport {
  api: HearthApi
  kind: 'ipc' | 'websocket'
  /** Called after every reconnect, once subscriptions are back: stores refetch their picture. */
  onReconnect(listener: () => void): () => void
}

const tokenKey = 'hearth.token'

/** The token from ?token= (then taken out of the address bar), else the one kept for reloads. */
export function takeToken(): string | null {
  const url = new URL(window.location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    sessionStorage.setItem(tokenKey, fromUrl)
    url.searchParams.delete('token')
    // Keeps the token out of history, bookmarks and screen shares.
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash)
    return fromUrl
  }
  return sessionStorage.getItem(tokenKey)
}

export function connect(): Transport {
  const bridge = window.hearth
  if (bridge) return connectIpc(bridge)
  return connectWebSocket()
}

function connectIpc(bridge: NonNullable<Window['hearth']>): Transport {
  const client = createRpcClient((msg) => {
    const r = bridge.invoke(msg)
    if (r instanceof Promise) r.catch((err) => console.error('hearth ipc:', err))
  })
  bridge.onMessage((msg) => client.receive(msg))
  useConnection.getState().set({ state: 'open', transport: 'ipc' })
  return { api: client.api, kind: 'ipc', onReconnect: () => () => {} }
}

const backoffMs = [250, 500, 1000, 2000, 4000, 8000]
/** Calls made while the socket is down wait for it, up to this many. */
const maxQueuedCalls = 500

function connectWebSocket(): Transport {
  const token = takeToken()
  const reconnectListeners = new Set<() => void>()
  const conn = useConnection.getState()
  let socket: WebSocket | null = null
  let queued: ClientMessage[] = []
  let attempt = 0
  let everOpened = false

  const client = createRpcClient((msg) => {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(msg))
    } else if (msg.t === 'call') {
      if (queued.length >= maxQueuedCalls) throw new HearthError('UNAVAILABLE', 'Hearth is disconnected; try again once it reconnects')
      queued.push(msg)
    }
    // sub/unsub while down need no queue: resubscribe() sends the live set on open.
  })

  function open(): void {
    if (!token) {
      conn.set({ state: 'no-token', transport: 'websocket' })
      return
    }
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws?token=${encodeURIComponent(token)}`)
    socket = ws
    ws.onopen = () => {
      attempt = 0
      client.resubscribe()
      const pending = queued
      queued = []
      for (const m of pending) ws.send(JSON.stringify(m))
      conn.set({ state: 'open', transport: 'websocket', retryAtMs: null })
      if (everOpened) for (const l of reconnectListeners) l()
      everOpened = true
    }
    ws.onmessage = (ev) => {
      let msg: ServerMessage
      try {
        msg = JSON.parse(String(ev.data)) as ServerMessage
      } catch {
        return
      }
      client.receive(msg)
    }
    ws.onclose = () => {
      if (socket !== ws) return
      socket = null
      client.failAll(new HearthError('UNAVAILABLE', 'the connection to Hearth dropped; the call was not answered'))
      const delay = backoffMs[Math.min(attempt, backoffMs.length - 1)]
      attempt++
      conn.set({ state: everOpened ? 'reconnecting' : 'connecting', transport: 'websocket', retryAtMs: Date.now() + delay })
      setTimeout(open, delay)
    }
  }

  conn.set({ state: 'connecting', transport: 'websocket' })
  open()
  return {
    api: client.api,
    kind: 'websocket',
    onReconnect(l) {
      reconnectListeners.add(l)
      return () => reconnectListeners.delete(l)
    },
  }
}
