// `hearth serve`: the backend over WebSocket plus the built renderer, for machines with no
// display. Binds loopback unless told otherwise; every WebSocket needs the printed token.
import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { HearthApi } from '../shared/api'
import { allowedHosts, attachWebSocket, checkHostAndOrigin, newToken } from './transport/ws-server'
import { securityHeaders, serveStatic } from './transport/static-files'

export interface ServeOptions {
  api: HearthApi
  port?: number
  host?: string
  token?: string
  rendererDir?: string
  log?: (line: string) => void
}

export interface RunningServer {
  url: string
  port: number
  host: string
  token: string
  server: Server
  close(): Promise<void>
}

/** out/renderer beside the bundle (out/main/cli.js), else the repo's out/renderer. */
export function defaultRendererDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [resolve(here, '../renderer'), resolve(here, '../../out/renderer'), resolve(process.cwd(), 'out/renderer')]
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]
}

export async function startServe(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1'
  const token = opts.token ?? newToken()
  const rendererDir = opts.rendererDir ?? defaultRendererDir()
  let port = opts.port ?? 0
  const hosts = () => allowedHosts(host, port)

  const server = createServer((req, res) => {
    const check = checkHostAndOrigin(req, hosts())
    if (!check.ok) {
      res.writeHead(check.status ?? 403, { ...securityHeaders, 'Content-Type': 'text/plain' }).end(check.reason)
      return
    }
    if (!existsSync(join(rendererDir, 'index.html'))) {
      res.writeHead(503, { ...securityHeaders, 'Content-Type': 'text/plain' })
      res.end(`Hearth's UI is not built (${rendererDir}/index.html is missing). Run \`npm run build\`, then reload.`)
      return
    }
    void serveStatic(rendererDir, req, res)
  })
  const wss = attachWebSocket(server, { api: opts.api, token, hosts, log: opts.log })

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
        for (const ws of wss.clients) ws.terminate()
        wss.close()
        server.closeAllConnections()
        server.close(() => ok())
      }),
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}
