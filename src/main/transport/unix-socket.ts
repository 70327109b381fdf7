// The contract over a UNIX socket, for the one backend per user (the daemon, `hearth serve` or the
// desktop app) and everything that attaches to it (the CLI, a second window, serve). Generic over
// HearthApi like the other transports: the same serveConnection on the server and the same RPC
// client, with one JSON message per line (JSON.stringify never emits a raw newline).
import { chmodSync, unlinkSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { HearthError, type HearthApi } from '../../shared/api'
import { createRpcClient, maxClientMessageBytes, serveConnection, type ClientMessage, type ServerMessage } from '../../shared/rpc'
import { peerCredOf, type PeerCred } from '../sys/peer-cred'

/** Largest message a client accepts from the daemon (a catalog of thousands of models is a few MiB). */
const maxServerMessageBytes = 256 * 1024 * 1024

/** Splits a byte stream into lines; a line longer than maxBytes ends the stream. */
function lineReader(socket: Socket, maxBytes: number, onLine: (line: string) => void, onTooLong: () => void): void {
  let buffered: Buffer[] = []
  let size = 0
  socket.on('data', (chunk: Buffer) => {
    let start = 0
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl)
      const line = buffered.length ? Buffer.concat([...buffered, part]).toString('utf8') : part.toString('utf8')
      buffered = []
      size = 0
      start = nl + 1
      if (line.length) onLine(line)
    }
    if (start < chunk.length) {
      buffered.push(chunk.subarray(start))
      size += chunk.length - start
      if (size > maxBytes) {
        buffered = []
        onTooLong()
      }
    }
  })
}

export interface UnixServerOptions {
  api: HearthApi
  path: string
  /** The only uid that may connect (the daemon's own) */
  uid: number
  log?: (line: string) => void
}

export interface UnixServer {
  server: Server
  path: string
  /** Connected clients now */
  clients(): number
  close(): Promise<void>
}

/**
 * Listens on `path` (the caller holds the daemon lock, so a file there is a dead daemon's).
 * The socket is made 0600 before anyone can have connected that matters: the directory is 0700.
 */
export async function listenUnix(opts: UnixServerOptions): Promise<UnixServer> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    let cred
    try {
      cred = peerCredOf(socket)
    } catch (err) {
      opts.log?.(`refused a daemon client: ${(err as Error).message}`)
      socket.destroy()
      return
    }
    if (!cred || cred.uid !== opts.uid) {
      opts.log?.(`refused a daemon client of uid ${cred?.uid ?? 'unknown'} (pid ${cred?.pid ?? '?'}): only uid ${opts.uid} may attach`)
      socket.destroy()
      return
    }
    sockets.add(socket)
    const send = (m: ServerMessage) => {
      if (!socket.destroyed) socket.write(JSON.stringify(m) + '\n')
    }
    const conn = serveConnection(opts.api, send)
    lineReader(
      socket,
      maxClientMessageBytes,
      (line) => {
        let msg: unknown
        try {
          msg = JSON.parse(line)
        } catch {
          send({ t: 'error', error: { code: 'BAD_INPUT', message: 'message is not valid JSON' } })
          return
        }
        void conn.onMessage(msg)
      },
      () => {
        send({ t: 'error', error: { code: 'BAD_INPUT', message: `message exceeds ${maxClientMessageBytes} bytes` } })
        socket.destroy()
      },
    )
    const end = () => {
      sockets.delete(socket)
      conn.close()
    }
    socket.on('close', end)
    socket.on('error', end)
  })
  try {
    unlinkSync(opts.path)
  } catch {
    // none there
  }
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.path, () => {
      server.off('error', fail)
      ok()
    })
  })
  chmodSync(opts.path, 0o600)
  return {
    server,
    path: opts.path,
    clients: () => sockets.size,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy()
        server.close(() => {
          try {
            unlinkSync(opts.path)
          } catch {
            // already gone
          }
          ok()
        })
      }),
  }
}

export interface UnixClient {
  api: HearthApi
  /** Resolves when the connection ends (the daemon stopped, or close()) */
  closed: Promise<void>
  close(): void
  /** Who the kernel says listens at the other end (null where Node hides the descriptor) */
  peer(): PeerCred | null
}

/** Connects to a daemon socket; rejects (ENOENT, ECONNREFUSED …) when none listens there. */
export function connectUnix(path: string, timeoutMs = 2000): Promise<UnixClient> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(Object.assign(new Error(`no answer from ${path} in ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))
    }, timeoutMs)
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('connect', () => {
      clearTimeout(timer)
      const client = createRpcClient((m: ClientMessage) => {
        if (socket.destroyed) throw new HearthError('UNAVAILABLE', 'the connection to the Hearth daemon is closed')
        socket.write(JSON.stringify(m) + '\n')
      })
      lineReader(
        socket,
        maxServerMessageBytes,
        (line) => {
          try {
            client.receive(JSON.parse(line) as ServerMessage)
          } catch {
            // a line that is not JSON cannot come from our daemon: drop it
          }
        },
        () => socket.destroy(),
      )
      const closed = new Promise<void>((ok) => {
        socket.once('close', () => {
          client.failAll(new HearthError('UNAVAILABLE', 'the Hearth daemon went away (it stopped or restarted); run the command again'))
          ok()
        })
      })
      socket.on('error', () => socket.destroy())
      resolve({ api: client.api, closed, close: () => socket.end(), peer: () => peerCredOf(socket) })
    })
  })
}
