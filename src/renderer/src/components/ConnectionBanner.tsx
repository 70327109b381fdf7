import { useEffect, useState } from 'react'
import { useConnection } from '../stores/connection'

export function ConnectionBanner() {
  const state = useConnection((s) => s.state)
  const retryAtMs = useConnection((s) => s.retryAtMs)
  const [, tick] = useState(0)
  useEffect(() => {
    if (state !== 'reconnecting') return
    const t = setInterval(() => tick((n) => n + 1), 500)
    return () => clearInterval(t)
  }, [state])

  if (state === 'open' || state === 'connecting') return null
  if (state === 'no-token') {
    return (
      <div role="alert" className="bg-red-600 px-4 py-2 text-sm text-white">
        No access token. Open the full address that <code className="font-mono">hearth serve</code> printed (it ends in <code className="font-mono">?token=…</code>).
      </div>
    )
  }
  const inS = retryAtMs ? Math.max(0, Math.ceil((retryAtMs - Date.now()) / 1000)) : 0
  return (
    <div role="alert" data-testid="disconnected" className="bg-amber-500 px-4 py-2 text-sm font-medium text-black">
      Disconnected — reconnecting{inS > 0 ? ` in ${inS}s` : '…'} The figures below are from before the connection dropped.
    </div>
  )
}
