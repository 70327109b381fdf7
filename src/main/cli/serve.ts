import { parseArgs } from 'node:util'
import type { HearthApi } from '../../shared/api'
import type { RunningServer } from '../serve'
import type { CliCommand, CliIo } from './command'
import { UsageError } from './command'

/** The flags `hearth serve` and `hearth daemon` share for their HTTP side. */
export const httpFlags = {
  port: { type: 'string' },
  host: { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  metrics: { type: 'boolean' },
  'metrics-public': { type: 'boolean' },
} as const

interface HttpValues {
  port?: string
  host?: string
  'allow-host'?: string[]
  metrics?: boolean
  'metrics-public'?: boolean
}

export interface HttpSettings {
  port: number
  host: string
  allowHosts: string[]
  metrics: boolean
  metricsPublic: boolean
}

export async function parseHttpFlags(values: HttpValues, defaultPort: number): Promise<HttpSettings> {
  const port = values.port === undefined ? defaultPort : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port}: give a port number from 0 to 65535 (0 picks a free one)`)
  const { checkAllowHost } = await import('../transport/ws-server')
  const allowHosts = values['allow-host'] ?? []
  for (const h of allowHosts) {
    const problem = checkAllowHost(h)
    if (problem) throw new UsageError(problem)
  }
  if (values['metrics-public'] && !values.metrics) throw new UsageError('--metrics-public goes with --metrics')
  return { port, host: values.host ?? '127.0.0.1', allowHosts, metrics: Boolean(values.metrics), metricsPublic: Boolean(values['metrics-public']) }
}

/** Starts the HTTP side (the UI, or with ui false only /metrics) and says what is exposed how. */
export async function startHttp(api: HearthApi, s: HttpSettings, io: CliIo, ui: boolean): Promise<{ server: RunningServer; stop(): void }> {
  const { isLoopback, startServe } = await import('../serve')
  const { createMetrics } = await import('../metrics/prometheus')
  const metrics = s.metrics ? createMetrics(api) : null
  const server = await startServe({
    api,
    port: s.port,
    host: s.host,
    allowHosts: s.allowHosts,
    ui,
    log: (l) => io.err(l),
    metrics: metrics ? { public: s.metricsPublic, render: async () => ({ contentType: metrics.contentType, body: await metrics.render() }) } : undefined,
  }).catch((err: NodeJS.ErrnoException) => {
    metrics?.close()
    if (err.code === 'EADDRINUSE') throw new UsageError(`port ${s.port} on ${s.host} is in use; pick another with --port N, or --port 0 for any free one`)
    throw err
  })
  if (!isLoopback(s.host)) {
    io.err(`warning: listening on ${s.host}, reachable from other machines; anyone with the token controls Hearth`)
    io.err(
      'warning: this is plain HTTP: the token and everything Hearth shows cross the network unencrypted. ' +
        'Prefer an SSH tunnel (ssh -L 7475:127.0.0.1:7475 host), or put a TLS proxy in front.',
    )
    if (s.allowHosts.length) io.err(`browsers may name this server ${s.allowHosts.join(', ')} or any of its addresses`)
  }
  if (metrics) {
    const where = `http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}/metrics`
    io.err(s.metricsPublic ? `metrics at ${where} (public: no token asked)` : `metrics at ${where} (loopback without a token; others send Authorization: Bearer TOKEN)`)
  }
  return { server, stop: () => metrics?.close() }
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run Hearth headless and serve its UI to a browser (and /metrics with --metrics)',
  usage: 'hearth serve [--port N] [--host ADDRESS] [--allow-host NAME]… [--metrics [--metrics-public]]',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: httpFlags })
    const http = await parseHttpFlags(values, 7475)
    await (await import('../sudo')).dropSudoRoot(process.env, (l) => io.err(l)) // under sudo: act as the user, not root
    // This user's daemon when one runs (one backend per user), else our own, which becomes it.
    const { openSession } = await import('../daemon/session')
    const session = await openSession({
      env: process.env,
      host: 'serve',
      log: (l) => io.err(l),
      onSwitch: (mode, info) => io.err(mode === 'host' ? 'took over as the Hearth daemon' : `now attached to the Hearth daemon (pid ${info.pid})`),
    })
    const info = await session.info()
    if (session.mode === 'attached') io.err(`attached to this user's Hearth daemon (${info.host}, pid ${info.pid}): its jobs and pins show here`)
    let started
    try {
      started = await startHttp(session.api, http, io, true)
    } catch (err) {
      await session.close()
      throw err
    }
    io.out(`Hearth is serving at ${started.server.url}`)
    io.err('Open that address in a browser (the token in it is your key). Ctrl-C stops.')
    await io.interrupted
    started.stop()
    await started.server.close()
    await session.close()
    return 0
  },
}
