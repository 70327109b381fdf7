// `hearth serve`: the backend over WebSocket plus the built renderer, for machines with no
// display. Binds loopback unless told otherwise; every WebSocket needs the printed token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { HearthApi } from '../shared/api'
import { allowedHosts, attachWebSocket, checkHostAndOrigin, newToken, requestUrl, tokenMatches } from './transport/ws-server'
import { securityHeaders, serveStatic } from './transport/static-files'
import { builtRendererDir } from './bundle-paths'

export interface ServeOptions {
  api: HearthApi
  port?: number
  host?: string
  token?: string
  rendererDir?: string
  log?: (line: string) => void
  /** Names besides the bound address that browsers may use in Host (--allow-host) */
  allowHosts?: readonly string[]
  /** Serves Prometheus text at /metrics (--metrics) */
  metrics?: MetricsHandler
  /** false: only /metrics (the daemon's metrics port), no UI and no WebSocket */
  ui?: boolean
}

/** GET /metrics: answered without the token only to loopback clients unless public. */
export interface MetricsHandler {
  public: boolean
  render(): Promise<{ contentType: string; body: string }>
}

export interface RunningServer {
  url: string
  port: number
  host: string
  token: string
  server: Server
  close(): Promise<void>
}

/** The built UI beside the bundle (bundle-paths.ts), else ./out/renderer, which the "not built" page names. */
export function defaultRendererDir(from = dirname(fileURLToPath(import.meta.url)), cwd = process.cwd()): string {
  return builtRendererDir(from) ?? resolve(cwd, 'out/renderer')
}

export async function startServe(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1'
  const token = opts.token ?? newToken()
  const rendererDir = opts.rendererDir ?? defaultRendererDir()
  let port = opts.port ?? 0
  const hosts = () => allowedHosts(host, port, opts.allowHosts)

  const server = createServer((req, res) => {
    const check = checkHostAndOrigin(req, hosts())
    if (!check.ok) {
      res.writeHead(check.status ?? 403, { ...securityHeaders, 'Content-Type': 'text/plain' }).end(check.reason)
      return
    }
    const url = requestUrl(req)
    if (!url) {
      res.writeHead(400, { ...securityHeaders, 'Content-Type': 'text/plain' }).end('bad request target\n')
      return
    }
    if (opts.metrics && url.pathname === '/metrics') {
      serveMetrics(opts.metrics, req, res, token, url).catch(() => res.destroy())
      return
    }
    if (opts.ui === false) {
      res.writeHead(404, { ...securityHeaders, 'Content-Type': 'text/plain' }).end('only /metrics is served here\n')
      return
    }
    if (!existsSync(join(rendererDir, 'index.html'))) {
      res.writeHead(503, { ...securityHeaders, 'Content-Type': 'text/plain' })
      res.end(`Hearth's UI is not built (${rendererDir}/index.html is missing). Run \`npm run build\`, then reload.`)
      return
    }
    serveStatic(rendererDir, req, res).catch(() => res.destroy())
  })
  const wss = opts.ui === false ? null : attachWebSocket(server, { api: opts.api, token, hosts, log: opts.log })

  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      ok()
    })
  })
  port = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  const url = `http://${shownHost}:${port}/?token=${token}`
  return {
    url,
    port,
    host,
    token,
    server,
    close: () =>
      new Promise<void>((ok) => {
        // Upgraded sockets are no longer the HTTP server's; end them too or close() waits forever.
        for (const ws of wss?.clients ?? []) ws.terminate()
        wss?.close()
        server.closeAllConnections()
        server.close(() => ok())
      }),
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host)
}

/** A token in `Authorization: Bearer …` (what Prometheus' bearer_token sends) or `?token=`. */
function givenToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim()
  return url.searchParams.get('token')
}

async function serveMetrics(m: MetricsHandler, req: IncomingMessage, res: ServerResponse, token: string, url: URL): Promise<void> {
  const headers = { ...securityHeaders, 'Cache-Control': 'no-store' }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end()
    return
  }
  const local = isLoopback(req.socket.remoteAddress ?? '')
  if (!m.public && !local && !tokenMatches(givenToken(req, url), token)) {
    res.writeHead(401, { ...headers, 'Content-Type': 'text/plain' }).end('metrics need the token from other machines (Authorization: Bearer TOKEN), or start with --metrics-public\n')
    return
  }
  try {
    const { contentType, body } = await m.render()
    res.writeHead(200, { ...headers, 'Content-Type': contentType }).end(req.method === 'HEAD' ? undefined : body)
  } catch (err) {
    res.writeHead(500, { ...headers, 'Content-Type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`)
  }
}
