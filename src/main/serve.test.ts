// `hearth serve` on the network (issue 8 item 18) and the page's Content-Security-Policy (item 17).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import WebSocket from 'ws'
import { createBackend, type Backend } from './backend'
import { defaultRendererDir, startServe, type RunningServer } from './serve'

const root = new URL('../..', import.meta.url).pathname
let home: string
let ui: string
let backend: Backend
const servers: RunningServer[] = []

/** This machine's first non-loopback IPv4 address, as a browser on the LAN would type it. */
const lanIp = Object.values(networkInterfaces())
  .flatMap((l) => l ?? [])
  .find((i) => i.family === 'IPv4' && !i.internal)?.address

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'hearth-serve-'))
  ui = join(home, 'ui')
  mkdirSync(ui)
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Hearth</title>')
  backend = await createBackend({ env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(home, 'none') } })
})
afterAll(async () => {
  for (const s of servers) await s.close()
  await backend?.stop()
  rmSync(home, { recursive: true, force: true })
})

async function serve(host: string, allowHosts: string[] = []): Promise<RunningServer> {
  const s = await startServe({ api: backend, host, port: 0, rendererDir: ui, allowHosts })
  servers.push(s)
  return s
}

/** GET / over loopback with the Host header a browser would send. */
function get(port: number, host: string, path = '/'): Promise<{ status: number; csp: string }> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Host: host } }, (res) => {
      res.resume()
      ok({ status: res.statusCode ?? 0, csp: String(res.headers['content-security-policy'] ?? '') })
    })
    req.on('error', fail)
    req.end()
  })
}

function wsStatus(port: number, host: string, token: string | null): Promise<number> {
  return new Promise((ok) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws${token ? `?token=${token}` : ''}`, { headers: { Host: host, Origin: `http://${host}` } })
    ws.once('open', () => {
      ws.terminate()
      ok(101)
    })
    ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0))
    ws.once('error', () => ok(0))
  })
}

describe('serve --host 0.0.0.0 on a network (item 18)', () => {
  it.skipIf(!lanIp)(`answers a browser that names this machine by its LAN address${lanIp ? '' : ' (skipped: this machine has no non-loopback IPv4 address)'}`, async () => {
    const s = await serve('0.0.0.0')
    const host = `${lanIp}:${s.port}`
    expect((await get(s.port, host)).status).toBe(200)
    // the token is still the key
    expect(await wsStatus(s.port, host, s.token)).toBe(101)
    expect(await wsStatus(s.port, host, null)).toBe(401)
    // and a name nobody listed is a rebinding attempt
    expect((await get(s.port, `evil.example:${s.port}`)).status).toBe(421)
  })

  it('accepts the names listed with --allow-host, and only those', async () => {
    const s = await serve('0.0.0.0', ['gpu-box.lan'])
    expect((await get(s.port, `gpu-box.lan:${s.port}`)).status).toBe(200)
    expect((await get(s.port, `GPU-BOX.lan:${s.port}`)).status).toBe(200)
    expect(await wsStatus(s.port, `gpu-box.lan:${s.port}`, s.token)).toBe(101)
    expect((await get(s.port, `gpu-box.lan.evil.example:${s.port}`)).status).toBe(421)
    expect((await get(s.port, `gpu-box.lan:${s.port + 1}`)).status).toBe(421)
  })

  it('bound to loopback, a LAN Host is still refused', async () => {
    const s = await serve('127.0.0.1')
    expect((await get(s.port, `${lanIp ?? '192.0.2.1'}:${s.port}`)).status).toBe(421)
  })

  it('the CLI takes --allow-host and warns that the traffic is plain HTTP', async () => {
    const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'serve', '--host', '0.0.0.0', '--allow-host', 'gpu-box', '--port', '0'], {
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_RUNTIME_DIR: join(home, 'run'), HEARTH_OLLAMA_SYSTEM_DIR: join(home, 'none') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    try {
      await expect.poll(() => out, { timeout: 30_000 }).toMatch(/Hearth is serving at/)
      expect(out).toMatch(/plain HTTP/)
      expect(out).toMatch(/gpu-box/)
    } finally {
      child.kill('SIGTERM')
    }
    const bad = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'serve', '--allow-host', 'http://gpu-box:80'], { env: { PATH: process.env.PATH, HOME: home } })
    let err = ''
    bad.stderr.on('data', (d) => (err += d))
    const code = await new Promise((ok) => bad.on('exit', ok))
    expect(code).toBe(2)
    expect(err).toMatch(/--allow-host "http:\/\/gpu-box:80": give a host name/)
  })
})

describe('Content-Security-Policy (item 17)', () => {
  it("the served page may connect only to this server's own WebSocket", async () => {
    const s = await serve('127.0.0.1')
    const { csp } = await get(s.port, `127.0.0.1:${s.port}`)
    const connect = /connect-src ([^;]*)/.exec(csp)?.[1]
    expect(connect).toBe(`ws://127.0.0.1:${s.port}/ws wss://127.0.0.1:${s.port}/ws`)
  })

  it('the page itself allows no socket beyond its own origin (no scheme-wide ws: or wss:)', () => {
    const html = readFileSync(join(root, 'src/renderer/index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? ''
    const connect = /connect-src ([^;]*)/.exec(meta)?.[1]?.trim().split(/\s+/)
    expect(connect).toEqual(["'self'"])
  })
})

describe('where serve finds the built UI', () => {
  it('beside the bundle wherever it is run from (a clone or the packaged app, main or a shared chunk); never the unbuilt template', () => {
    const tree = join(home, 'layouts')
    const builtUi = (dir: string) => {
      mkdirSync(join(dir, 'assets'), { recursive: true })
      writeFileSync(join(dir, 'index.html'), '<!doctype html>')
    }
    const app = join(tree, 'opt/Hearth/resources/app.asar.unpacked/out')
    builtUi(join(app, 'renderer'))
    const elsewhere = join(tree, 'home/user')
    mkdirSync(elsewhere, { recursive: true })
    expect(defaultRendererDir(join(app, 'main/chunks'), elsewhere)).toBe(join(app, 'renderer'))
    expect(defaultRendererDir(join(app, 'main'), elsewhere)).toBe(join(app, 'renderer'))
    // Run from sources (src/main): src/renderer/index.html is the template; the build is out/renderer.
    const clone = join(tree, 'clone')
    mkdirSync(join(clone, 'src/renderer'), { recursive: true })
    writeFileSync(join(clone, 'src/renderer/index.html'), '<!doctype html><script src="/src/main.tsx"></script>')
    builtUi(join(clone, 'out/renderer'))
    expect(defaultRendererDir(join(clone, 'src/main'), elsewhere)).toBe(join(clone, 'out/renderer'))
    // Nothing built: the answer names ./out/renderer, which the "not built" page tells to build.
    expect(defaultRendererDir(join(tree, 'nothing/main/chunks'), elsewhere)).toBe(join(elsewhere, 'out/renderer'))
  })
})

describe('a request target no URL parser accepts', () => {
  /** Writes a raw request (what a browser sends for `new WebSocket('ws://host//[')`) and returns the status line. */
  function raw(port: number, lines: string[]): Promise<string> {
    return new Promise((ok, fail) => {
      const s = connect(port, '127.0.0.1', () => s.write(`${lines.join('\r\n')}\r\n\r\n`))
      let got = ''
      s.on('data', (d) => (got += d))
      s.on('end', () => ok(got.split('\r\n')[0]))
      s.on('close', () => ok(got.split('\r\n')[0]))
      s.on('error', fail)
    })
  }
  it('gets a 400, as a WebSocket upgrade and as a plain request with /metrics on, and the server lives on', async () => {
    const s = await startServe({ api: backend, host: '127.0.0.1', port: 0, rendererDir: ui, metrics: { public: false, render: async () => ({ contentType: 'text/plain', body: 'x 1\n' }) } })
    servers.push(s)
    const host = `Host: 127.0.0.1:${s.port}`
    const upgrade = ['GET //[ HTTP/1.1', host, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']
    expect(await raw(s.port, upgrade)).toBe('HTTP/1.1 400 Bad Request')
    expect(await raw(s.port, ['GET //[ HTTP/1.1', host, 'Connection: close'])).toMatch(/^HTTP\/1\.1 400 /)
    expect((await get(s.port, `127.0.0.1:${s.port}`)).status).toBe(200)
    expect(await wsStatus(s.port, `127.0.0.1:${s.port}`, s.token)).toBe(101)
  })
})
