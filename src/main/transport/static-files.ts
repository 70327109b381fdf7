// Serves the built renderer for `hearth serve`: files under one folder only, never outside it.
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
}

/**
 * The page's policy. The only connection it may open is this server's own WebSocket, at the
 * Host the request came in on (already checked against the allowed hosts); wss for a TLS proxy.
 */
export function contentSecurityPolicy(host: string): string {
  const connect = /^[a-z0-9.\-:[\]]+$/i.test(host) ? `ws://${host}/ws wss://${host}/ws` : "'none'"
  return `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src ${connect}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`
}

/** Headers on every answer (errors, metrics); pages add contentSecurityPolicy(host). */
export const securityHeaders: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = { ...securityHeaders, 'Content-Security-Policy': contentSecurityPolicy(req.headers.host ?? '') }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end()
    return
  }
  let pathname: string
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
  } catch {
    res.writeHead(400, headers).end('bad path')
    return
  }
  if (pathname.includes('\0')) {
    res.writeHead(400, headers).end('bad path')
    return
  }
  const rel = normalize(pathname === '/' ? '/index.html' : pathname)
  const file = join(root, rel)
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
    res.writeHead(403, headers).end()
    return
  }
  try {
    const st = await stat(file)
    const target = st.isDirectory() ? join(file, 'index.html') : file
    const body = await readFile(target)
    res.writeHead(200, {
      ...headers,
      'Content-Type': types[extname(target)] ?? 'application/octet-stream',
      'Cache-Control': target.endsWith('index.html') ? 'no-store' : 'max-age=3600',
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  } catch {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found')
  }
}
