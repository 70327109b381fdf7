// The host's memory bandwidth for the planner's speed estimate: a few seconds of large copies on
// several threads at once (a decode reads weights from many cores), counted as bytes read plus
// bytes written. Measured once and kept in settings.
import { cpus } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { HostBandwidth } from '../../../shared/api'

/**
 * Each worker copies between two buffers much larger than any CPU cache, after one untimed copy
 * (the first touch of fresh memory costs page faults, not bandwidth), until the deadline.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { bytes, ms } = workerData
const a = Buffer.alloc(bytes, 1)
const b = Buffer.alloc(bytes, 2)
a.copy(b)
b.copy(a)
parentPort.postMessage({ ready: true })
parentPort.once('message', () => {
  let copied = 0
  const t0 = process.hrtime.bigint()
  const end = t0 + BigInt(ms) * 1000000n
  let t = t0
  while (t < end) {
    a.copy(b)
    copied += bytes
    t = process.hrtime.bigint()
  }
  parentPort.postMessage({ copied, ns: Number(t - t0) })
})
`

export interface BandwidthOptions {
  /** Copy time per worker (default 2500 ms) */
  ms?: number
  /** Bytes of each of a worker's two buffers (default 128 MiB) */
  bufferBytes?: number
  /** Default: the cores, at most 8 */
  threads?: number
}

export async function measureHostBandwidth(opts: BandwidthOptions = {}): Promise<HostBandwidth> {
  const threads = Math.max(1, Math.min(opts.threads ?? cpus().length, 8))
  const bytes = opts.bufferBytes ?? 128 * 2 ** 20
  const ms = opts.ms ?? 2500
  const workers = Array.from({ length: threads }, () => new Worker(workerSource, { eval: true, workerData: { bytes, ms } }))
  try {
    // Start every worker's timed loop together, once all have touched their buffers.
    await Promise.all(workers.map((w) => new Promise<void>((ok, fail) => { w.once('message', () => ok()); w.once('error', fail) })))
    const results = await Promise.all(
      workers.map((w) => new Promise<{ copied: number; ns: number }>((ok, fail) => { w.once('message', ok); w.once('error', fail); w.postMessage('go') })),
    )
    const seconds = Math.max(...results.map((r) => r.ns)) / 1e9
    const moved = results.reduce((s, r) => s + 2 * r.copied, 0)
    return {
      gbps: Math.round((moved / seconds / 1e9) * 10) / 10,
      atMs: Date.now(),
      method: `${threads} thread${threads > 1 ? 's' : ''} copying ${bytes / 2 ** 20} MiB buffers for ${(seconds).toFixed(1)} s; bytes read + written`,
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
