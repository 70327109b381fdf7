// `hearth daemon`: this user's backend without a window — keeps pins warm, holds locks, runs the
// jobs the CLI, the app and browsers start (they attach over its UNIX socket), and serves
// /metrics with --metrics. What `hearth service install` runs under systemd.
import { parseArgs } from 'node:util'
import type { CliCommand } from './command'
import { UsageError } from './command'
import { httpFlags, parseHttpFlags, startHttp } from './serve'

function seconds(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback
  const n = Number(v)
  if (!/^\d+(\.\d+)?$/.test(v) || n > 86_400) throw new UsageError(`${flag} ${v}: give seconds, from 0 to 86400`)
  return n
}

export const daemonCommand: CliCommand = {
  name: 'daemon',
  summary: 'keep pins warm headless: the one backend the CLI, app and browsers attach to',
  usage: 'hearth daemon [--warm-delay SECONDS] [--check-every SECONDS] [--metrics [--port N] [--host ADDRESS] [--metrics-public]]',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { ...httpFlags, 'warm-delay': { type: 'string' }, 'check-every': { type: 'string' }, autostart: { type: 'boolean' } },
    })
    const http = await parseHttpFlags(values, 9475)
    if (!http.metrics && (values.port !== undefined || values.host !== undefined)) throw new UsageError('--port and --host set where /metrics is served: add --metrics')
    const { findDaemon, takeDaemonLock, hostDaemon } = await import('../daemon/attach')
    const { newHostState } = await import('../daemon/host-state')
    const { desktopSettingsFrom } = await import('../../shared/contract/daemon')

    // One daemon per user: while another Hearth holds the backend (the desktop app, another
    // daemon), wait and take over when it ends, so a systemd unit never fails for that.
    let lock = takeDaemonLock(process.env)
    if (!lock) {
      const found = await findDaemon(process.env)
      const who = found?.attached?.info ?? found?.foreign
      found?.attached?.client.close()
      io.err(`Hearth already runs here${who ? ` (${who.host}, pid ${who.pid})` : ''}; waiting to take over when it stops`)
      while (!lock && !io.signal.aborted) {
        await Promise.race([new Promise((r) => setTimeout(r, 2000)), io.interrupted])
        lock = io.signal.aborted ? null : takeDaemonLock(process.env)
      }
      if (!lock) return 0
    }

    const { openSettings } = await import('../settings')
    const stored = desktopSettingsFrom((await openSettings(process.env)).get().desktop)
    const delay = seconds('--warm-delay', values['warm-delay'], values.autostart ? stored.warmDelaySeconds : 0)
    const check = seconds('--check-every', values['check-every'], 15)
    if (check < 1) throw new UsageError('--check-every must be at least 1 second')
    const { createBackend } = await import('../backend')
    const backend = await createBackend({
      env: process.env,
      host: newHostState('daemon'),
      keepWarmDelayMs: delay * 1000,
      keepWarmCheckMs: check * 1000,
    })
    await backend.start()
    const hosting = await hostDaemon(backend, lock, (l) => io.err(l))
    const metrics = http.metrics ? await startHttp(backend, http, io, false) : null
    const pins = backend.ctx.settings.get().pins.length
    io.err(
      `Hearth daemon running (pid ${process.pid}); socket ${hosting.socketPath}; ${pins} pinned model${pins === 1 ? '' : 's'} kept warm` +
        (delay ? ` from ${delay} s after start` : '') +
        '. Ctrl-C stops.',
    )
    await io.interrupted
    metrics?.stop()
    await metrics?.server.close()
    await hosting.close()
    await backend.stop()
    return 0
  },
}
