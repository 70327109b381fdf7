// One contract suite, run through every transport: direct calls (the CLI), WebSocket (serve), IPC
// (the desktop window, through the same server code Electron's glue feeds) and the daemon's UNIX
// socket. Electron itself cannot start here; its IPC adapter is a few lines in src/main/electron/app.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as httpRequest } from 'node:http'
import WebSocket from 'ws'
import { HearthError, type HearthApi } from '../../shared/api'
import { createRpcClient, type ServerMessage } from '../../shared/rpc'
import { createBackend, type Backend } from '../backend'
import { startServe, type RunningServer } from '../serve'
import { createIpcServer } from './ipc'
import { connectUnix, listenUnix, type UnixClient, type UnixServer } from './unix-socket'

const execFileAsync = promisify(execFile)
let home: string
let backend: Backend
let server: RunningServer
let unix: UnixServer
const sockets: WebSocket[] = []
const unixClients: UnixClient[] = []

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'hearth-contract-'))
  writeFileSync(join(home, 'plain.bin'), Buffer.alloc(1 << 20, 7))
  backend = await createBackend({ env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(home, 'no-system-ollama') } })
  await backend.start()
  server = await startServe({ api: backend, port: 0, rendererDir: join(home, 'no-ui') })
  unix = await listenUnix({ api: backend, path: join(home, 'daemon.sock'), uid: process.getuid!() })
})

afterAll(async () => {
  for (const s of sockets) s.terminate()
  for (const c of unixClients) c.close()
  await unix?.close()
  await server?.close()
  await backend?.stop()
  rmSync(home, { recursive: true, force: true })
})

function wsOpen(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url, { headers })
    sockets.push(ws)
    ws.once('open', () => ok(ws))
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', fail)
  })
}

async function wsClient(): Promise<HearthApi> {
  const ws = await wsOpen(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`)
  const client = createRpcClient((m) => ws.send(JSON.stringify(m)))
  ws.on('message', (d) => client.receive(JSON.parse(d.toString()) as ServerMessage))
  return client.api
}

function ipcClient(): HearthApi {
  let deliver: (m: ServerMessage) => void = () => {}
  const ipc = createIpcServer(backend, (sender, url) => sender.id === 1 && url === 'file:///app/index.html')
  const sender = { id: 1, send: (m: ServerMessage) => setImmediate(() => deliver(m)), onClosed: () => {} }
  const client = createRpcClient((m) => ipc.handle(sender, 'file:///app/index.html', structuredClone(m)))
  deliver = client.receive
  return client.api
}

async function unixClient(): Promise<HearthApi> {
  const c = await connectUnix(unix.path)
  unixClients.push(c)
  return c.api
}

const transports: [string, () => Promise<HearthApi> | HearthApi][] = [
  ['direct', () => backend],
  ['websocket', wsClient],
  ['ipc', ipcClient],
  ['unix socket', unixClient],
]

describe.each(transports)('contract through %s', (_name, make) => {
  let api: HearthApi
  beforeAll(async () => {
    api = await make()
  })

  it('answers queries with plain data', async () => {
    const catalog = await api.catalog()
    expect(Array.isArray(catalog.models)).toBe(true)
    expect(catalog.roots.length).toBeGreaterThan(0)
    const settings = await api.settings()
    expect(settings.keepWarmThreshold).toBeGreaterThan(0)
  })

  it('reads residency of a real file', async () => {
    const [f] = await api.residency({ targets: [join(home, 'plain.bin')] })
    expect(f.bytes).toBe(1 << 20)
    expect(f.residentBytes).toBeGreaterThan(0) // just written: in the page cache
  })

  it('rejects bad input with BAD_INPUT naming the field', async () => {
    const err = await api.heatStrip({ path: join(home, 'plain.bin'), buckets: 0 }).catch((e) => e)
    expect(err).toBeInstanceOf(HearthError)
    expect(err.code).toBe('BAD_INPUT')
    expect(err.message).toMatch(/buckets/)
    const err2 = await api.addFolder({ path: 'x\0y' }).catch((e) => e)
    expect(err2.code).toBe('BAD_INPUT')
    expect(err2.message).toMatch(/NUL/)
  })

  it('names a missing folder and the fix', async () => {
    const err = await api.addFolder({ path: join(home, 'does-not-exist') }).catch((e) => e)
    expect(err.code).toBe('NOT_FOUND')
    expect(err.message).toContain('does-not-exist')
  })

  it('takes ~/ as the home of the user it runs for, and refuses a relative folder (whose working directory?)', async () => {
    mkdirSync(join(home, 'tilde models'), { recursive: true })
    const added = await api.addFolder({ path: '~/tilde models' })
    expect(added.folders).toContain(join(home, 'tilde models'))
    expect((await api.removeFolder({ path: '~/tilde models' })).folders).not.toContain(join(home, 'tilde models'))
    const err = await api.addFolder({ path: 'models' }).catch((e) => e)
    expect(err.code).toBe('BAD_INPUT')
    expect(err.message).toBe(`"models" is not a full path; give the folder's full path, starting with / or ~/`)
  })

  it('pushes subscribed topics', async () => {
    const sample = await new Promise<{ memTotalBytes: number }>((ok) => {
      const off = api.subscribe('memory', (m) => {
        off()
        ok(m)
      })
    })
    expect(sample.memTotalBytes).toBeGreaterThan(0)
  })
})

describe('message transports refuse what is not the contract', () => {
  it('unknown methods, topics and malformed messages get BAD_INPUT', async () => {
    const ws = await wsOpen(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`)
    const replies: ServerMessage[] = []
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())))
    ws.send(JSON.stringify({ t: 'call', id: 1, method: 'rmRf', input: {} }))
    ws.send(JSON.stringify({ t: 'sub', topic: 'secrets' }))
    ws.send('not json')
    ws.send(JSON.stringify({ t: 'call', id: 2, method: 'catalog', input: { extra: 1 } }))
    await expect.poll(() => replies.length).toBe(4)
    const codes = replies.map((r) => (r.t === 'result' && !r.ok ? r.error.code : r.t === 'error' ? r.error.code : 'ok'))
    expect(codes).toEqual(['BAD_INPUT', 'BAD_INPUT', 'BAD_INPUT', 'BAD_INPUT'])
  })

  it('WebSocket: missing or wrong token, foreign Origin or Host are refused', async () => {
    const base = `ws://127.0.0.1:${server.port}/ws`
    await expect(wsOpen(base)).rejects.toThrow(/401/)
    await expect(wsOpen(`${base}?token=${'0'.repeat(64)}`)).rejects.toThrow(/401/)
    await expect(wsOpen(`${base}?token=${server.token}`, { Origin: 'http://evil.example' })).rejects.toThrow(/403/)
    await expect(wsOpen(`${base}?token=${server.token}`, { Host: 'evil.example:80' })).rejects.toThrow(/421/)
    const ok = await wsOpen(`${base}?token=${server.token}`, { Origin: `http://localhost:${server.port}` })
    expect(ok.readyState).toBe(WebSocket.OPEN)
  })

  it('WebSocket: an oversized message closes the connection', async () => {
    const ws = await wsOpen(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`)
    const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)))
    ws.send(JSON.stringify({ t: 'call', id: 1, method: 'catalog', input: { pad: 'x'.repeat(1 << 20) } }))
    expect(await closed).toBe(1009)
  })

  it('IPC: an untrusted frame gets no answer', async () => {
    const got: ServerMessage[] = []
    const ipc = createIpcServer(backend, (_s, url) => url === 'file:///app/index.html')
    ipc.handle({ id: 9, send: (m) => got.push(m), onClosed: () => {} }, 'https://evil.example/', { t: 'call', id: 1, method: 'catalog' })
    await new Promise((r) => setTimeout(r, 100))
    expect(got).toEqual([])
  })

  it('HTTP: the token is the only key; a foreign Host is refused', async () => {
    // fetch() cannot set Host; node:http can, as a rebinding attacker's browser effectively does.
    const status = await new Promise<number>((ok, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/', headers: { Host: 'evil.example' } }, (res) => {
        res.resume()
        ok(res.statusCode ?? 0)
      })
      req.on('error', fail)
      req.end()
    })
    expect(status).toBe(421)
    const ok = await fetch(`http://127.0.0.1:${server.port}/`)
    expect(ok.status).toBe(503) // no UI built into this temp dir: says how to build it
    expect(await ok.text()).toMatch(/npm run build/)
  })
})

describe('the daemon socket admits only its own user', () => {
  it('is 0600 and answers nothing but the contract', async () => {
    expect(statSync(unix.path).mode & 0o777).toBe(0o600)
    const c = await connectUnix(unix.path)
    unixClients.push(c)
    await expect((c.api as unknown as Record<string, (i: unknown) => Promise<unknown>>).catalog({ extra: 1 })).rejects.toMatchObject({ code: 'BAD_INPUT' })
  })

  it('refuses a peer of another uid even when the file would let it connect (SO_PEERCRED)', async () => {
    // Opened up on purpose: the peer check must stand on its own.
    chmodSync(unix.path, 0o666)
    chmodSync(home, 0o755)
    try {
      // Reports whether it connected and what came back before the server hung up.
      const script = `const s=require('net').createConnection(${JSON.stringify(unix.path)});let connected=false,got='';s.on('connect',()=>{connected=true;s.write(JSON.stringify({t:'call',id:1,method:'catalog'})+'\\n')});s.on('data',d=>got+=d);s.on('error',()=>{});s.on('close',()=>process.stdout.write(JSON.stringify({connected,got})))`
      // Asynchronously: this process is the server and must keep accepting meanwhile.
      const { stdout } = await execFileAsync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 })
      expect(JSON.parse(stdout)).toEqual({ connected: true, got: '' }) // let in by the file mode, then dropped without a word
      // and the same call from our own uid is answered
      const c = await connectUnix(unix.path)
      unixClients.push(c)
      expect((await c.api.catalog()).roots.length).toBeGreaterThan(0)
    } finally {
      chmodSync(unix.path, 0o600)
      chmodSync(home, 0o700)
    }
  })

  it('a client sees calls fail with UNAVAILABLE when the daemon goes away', async () => {
    const path = join(home, 'short.sock')
    const s = await listenUnix({ api: backend, path, uid: process.getuid!() })
    const c = await connectUnix(path)
    await s.close()
    await c.closed
    await expect(c.api.catalog()).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })
})
