// The WebSocket transport for `hearth serve`: the same backend as the desktop app, behind a
// random 256-bit token, with checks against the browser attacks a localhost server invites
// (DNS rebinding via the Host header, cross-site pages via Origin) and against floods.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { WebSocketServer, type WebSocket } from 'ws'
import type { HearthApi } from '../../shared/api'
import { maxClientMessageBytes, serveConnection, type ServerMessage } from '../../shared/rpc'

export function newToken(): string {
  return randomBytes(32).toString('hex')
}

export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** An address as it appears in a Host header: IPv6 in brackets, lower case. */
function hostForm(address: string): string {
  const a = address.toLowerCase()
  return a.includes(':') && !a.startsWith('[') ? `[${a}]` : a
}

/** Binding to every address (0.0.0.0, ::) means the browser names any of this machine's own. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]'
}

/** This machine's interface addresses, read at each request so a new DHCP lease keeps working. */
function ownAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => (i.family === 'IPv6' && i.scopeid ? `${i.address}%${i.scopeid}` : i.address))
    .filter((a) => !a.includes('%')) // link-local with a zone: browsers do not put those in Host
}

/**
 * Host header values this server answers to: its loopback names, the bound address (with a
 * wildcard bind: every address of this machine, which is what a browser on the network puts in
 * Host) and the names the user listed with --allow-host. Anything else is a rebinding attempt.
 */
export function allowedHosts(boundHost: string, port: number, extraNames: readonly string[] = []): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', hostForm(boundHost)])
  if (isWildcard(boundHost)) for (const a of ownAddresses()) names.add(hostForm(a))
  for (const n of extraNames) names.add(hostForm(n))
  const out = new Set<string>()
  for (const n of names) out.add(`${n}:${port}`)
  return out
}

/** An --allow-host value: a DNS name or an IP address, no port, no scheme. */
export function checkAllowHost(name: string): string | null {
  if (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name) && name.length <= 253) return null
  if (isIP(name.replace(/^\[|\]$/g, ''))) return null
  return `--allow-host ${JSON.stringify(name)}: give a host name or IP address as the browser types it, without a port or http:// (e.g. --allow-host gpu-box.lan)`
}

export interface RequestCheck {
  ok: boolean
  status?: number
  reason?: string
}

/** Host must be one of ours; Origin, when a browser sends one, must be this very server. */
/**
 * The request's URL, or null for a target no URL parser accepts ("//[" is one): a request line
 * is the client's to write, and one that throws must cost the server a 400, not its life.
 */
export function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://x')
  } catch {
    return null
  }
}

export function checkHostAndOrigin(req: IncomingMessage, hosts: Set<string>): RequestCheck {
  const host = (req.headers.host ?? '').toLowerCase()
  if (!hosts.has(host)) return { ok: false, status: 421, reason: `foreign Host header ${JSON.stringify(host)}` }
  const origin = req.headers.origin
  if (origin !== undefined) {
    let originHost = ''
    try {
      const u = new URL(origin)
      originHost = u.protocol === 'http:' || u.protocol === 'https:' ? u.host.toLowerCase() : ''
    } catch {
      originHost = ''
    }
    if (!hosts.has(originHost)) return { ok: false, status: 403, reason: `foreign Origin ${JSON.stringify(origin)}` }
  }
  return { ok: true }
}

export interface WsOptions {
  api: HearthApi
  token: string
  hosts: () => Set<string>
  log?: (line: string) => void
}

export function attachWebSocket(server: Server, opts: WsOptions): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxClientMessageBytes })
  server.on('upgrade', (req, socket, head) => {
    const url = requestUrl(req)
    const refuse = (status: number, reason: string) => {
      opts.log?.(`refused WebSocket from ${req.socket.remoteAddress}: ${reason}`)
      const text = status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : 'Forbidden'
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (!url) return refuse(400, 'a request target that is no URL')
    if (url.pathname !== '/ws') return refuse(404, `no WebSocket at ${url.pathname}`)
    const check = checkHostAndOrigin(req, opts.hosts())
    if (!check.ok) return refuse(check.status ?? 403, check.reason ?? 'refused')
    if (!tokenMatches(url.searchParams.get('token'), opts.token)) return refuse(401, 'missing or wrong token')
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, opts.api))
  })
  return wss
}

function onConnection(ws: WebSocket, api: HearthApi): void {
  const send = (msg: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg))
  }
  const conn = serveConnection(api, send)
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      send({ t: 'error', error: { code: 'BAD_INPUT', message: 'binary messages are not accepted; send JSON text' } })
      return
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(data.toString())
    } catch {
      send({ t: 'error', error: { code: 'BAD_INPUT', message: 'message is not valid JSON' } })
      return
    }
    void conn.onMessage(parsed)
  })
  ws.on('close', () => conn.close())
  ws.on('error', () => conn.close())
}
