// The wire protocol every message-based transport (WebSocket, Electron IPC) speaks, and a client
// built from the method table alone: no transport is written method by method.
import {
  type HearthApi,
  type MethodName,
  type TopicName,
  type Topics,
  isMethodName,
  isTopicName,
  methods,
} from './api'
import { HearthError, fromErrorShape, toErrorShape, type HearthErrorShape } from './errors'

export type ClientMessage =
  | { t: 'call'; id: number; method: string; input?: unknown }
  | { t: 'sub'; topic: string }
  | { t: 'unsub'; topic: string }

export type ServerMessage =
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: HearthErrorShape }
  | { t: 'event'; topic: string; data: unknown }
  | { t: 'error'; error: HearthErrorShape }

/** Largest message a transport accepts from a client (requests are small; this stops floods). */
export const maxClientMessageBytes = 256 * 1024

/** Checks a call's input against the contract; the zod issue becomes a BAD_INPUT naming the field. */
export function parseInput(method: MethodName, input: unknown): unknown {
  const spec = methods[method]
  const res = spec.input.safeParse(input)
  if (res.success) return res.data
  const issue = res.error.issues[0]
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
  throw new HearthError('BAD_INPUT', `${method}: ${where}${issue?.message ?? 'invalid input'}`, {
    issues: res.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  })
}

/**
 * The server side of one connection: validates every message against the contract, calls the
 * backend, and forwards subscribed topics. `send` must serialise; `close` ends the session.
 */
export function serveConnection(api: HearthApi, send: (msg: ServerMessage) => void) {
  const subs = new Map<TopicName, () => void>()
  async function onMessage(raw: unknown): Promise<void> {
    const msg = raw as Partial<ClientMessage> | null
    if (typeof msg !== 'object' || msg === null || typeof msg.t !== 'string') {
      send({ t: 'error', error: { code: 'BAD_INPUT', message: 'message must be an object with a "t" field' } })
      return
    }
    if (msg.t === 'call') {
      const id = typeof msg.id === 'number' && Number.isSafeInteger(msg.id) ? msg.id : -1
      try {
        if (id < 0) throw new HearthError('BAD_INPUT', 'call: "id" must be a non-negative integer')
        if (!isMethodName(msg.method)) {
          throw new HearthError('BAD_INPUT', `unknown method ${JSON.stringify(String(msg.method)).slice(0, 80)}`)
        }
        const input = parseInput(msg.method, msg.input)
        const fn = api[msg.method] as (input: unknown) => Promise<unknown>
        const value = await fn(input)
        send({ t: 'result', id, ok: true, value })
      } catch (err) {
        send({ t: 'result', id, ok: false, error: toErrorShape(err) })
      }
      return
    }
    if (msg.t === 'sub' || msg.t === 'unsub') {
      if (!isTopicName(msg.topic)) {
        send({ t: 'error', error: { code: 'BAD_INPUT', message: `unknown topic ${JSON.stringify(String(msg.topic)).slice(0, 80)}` } })
        return
      }
      const topic = msg.topic
      if (msg.t === 'sub' && !subs.has(topic)) {
        subs.set(topic, api.subscribe(topic, (data) => send({ t: 'event', topic, data })))
      } else if (msg.t === 'unsub') {
        subs.get(topic)?.()
        subs.delete(topic)
      }
      return
    }
    send({ t: 'error', error: { code: 'BAD_INPUT', message: `unknown message type ${JSON.stringify(String(msg.t)).slice(0, 40)}` } })
  }
  function close(): void {
    for (const off of subs.values()) off()
    subs.clear()
  }
  return { onMessage, close }
}

/**
 * A HearthApi over any message channel. `send` delivers a ClientMessage; the caller feeds every
 * ServerMessage it receives to `receive`. Subscriptions are reference-counted per topic.
 */
export function createRpcClient(send: (msg: ClientMessage) => void) {
  let nextId = 1
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  const listeners = new Map<string, Set<(data: unknown) => void>>()
  const errorListeners = new Set<(e: HearthError) => void>()

  function receive(msg: ServerMessage): void {
    if (msg.t === 'result') {
      const p = pending.get(msg.id)
      if (!p) return
      pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.value)
      else p.reject(fromErrorShape(msg.error))
    } else if (msg.t === 'event') {
      for (const l of listeners.get(msg.topic) ?? []) l(msg.data)
    } else if (msg.t === 'error') {
      for (const l of errorListeners) l(fromErrorShape(msg.error))
    }
  }

  /** Fails every call in flight (the connection dropped). */
  function failAll(err: HearthError): void {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }

  /** Re-sends subscriptions after a reconnect. */
  function resubscribe(): void {
    for (const [topic, set] of listeners) if (set.size > 0) send({ t: 'sub', topic })
  }

  const api = {} as Record<string, unknown>
  for (const name of Object.keys(methods)) {
    api[name] = (input?: unknown) =>
      new Promise((resolve, reject) => {
        const id = nextId++
        pending.set(id, { resolve, reject })
        try {
          send({ t: 'call', id, method: name, input })
        } catch (err) {
          pending.delete(id)
          reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
  }
  api.subscribe = <T extends TopicName>(topic: T, listener: (event: Topics[T]) => void) => {
    let set = listeners.get(topic)
    if (!set) listeners.set(topic, (set = new Set()))
    const l = listener as (data: unknown) => void
    set.add(l)
    if (set.size === 1) send({ t: 'sub', topic })
    return () => {
      set.delete(l)
      if (set.size === 0) send({ t: 'unsub', topic })
    }
  }
  return {
    api: api as unknown as HearthApi,
    receive,
    failAll,
    resubscribe,
    onError: (l: (e: HearthError) => void) => errorListeners.add(l),
  }
}
