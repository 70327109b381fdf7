// The one HearthApi of this window. Views and stores call hearth().method(...); nothing else in
// the renderer knows which transport is underneath.
import type { HearthApi } from '../../shared/api'
import { connect, type Transport } from './transport'

let transport: Transport | null = null

export function startTransport(): Transport {
  transport ??= connect()
  return transport
}

export function hearth(): HearthApi {
  if (!transport) throw new Error('hearth(): startTransport() has not run yet')
  return transport.api
}

/** Runs after every reconnect (WebSocket only): stores refetch what they may have missed. */
export function onReconnect(listener: () => void): () => void {
  return startTransport().onReconnect(listener)
}
