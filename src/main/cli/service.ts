// `hearth service install|uninstall|status [--user|--system]`: the daemon as a systemd unit. A
// user unit on desktops (starts at login, keeps your pins warm); a system unit on GPU servers,
// run as root, with pins and model folders in /etc/hearth/settings.json.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import type { CliCommand, CliIo } from './command'
import { UsageError } from './command'

function systemctl(scope: 'user' | 'system', args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('systemctl', [...(scope === 'user' ? ['--user'] : []), ...args], { encoding: 'utf8', timeout: 30_000 })
  if (r.error) return { ok: false, out: `systemctl: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : r.error.message}` }
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() }
}

/** systemd manages this machine (sd_booted(3): /run/systemd/system exists). */
function systemdRuns(): boolean {
  return existsSync('/run/systemd/system')
}

async function install(scope: 'user' | 'system', io: CliIo, json: boolean): Promise<number> {
  const { unitPath, unitText } = await import('../daemon/systemd')
  const { hearthCommand } = await import('../services/desktop/launcher')
  const file = unitPath(scope, process.env)
  const text = unitText(scope, hearthCommand(process.env))
  await mkdir(dirname(file), { recursive: true })
  if (scope === 'system') await mkdir('/etc/hearth', { recursive: true, mode: 0o755 })
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode: 0o644 })
  await rename(tmp, file)
  const steps = [['daemon-reload'], ['enable', '--now', 'hearth.service']]
  const failed = systemdRuns() ? steps.map((s) => ({ s, r: systemctl(scope, s) })).find((x) => !x.r.ok) : { s: steps[1], r: { ok: false, out: 'systemd is not running on this machine' } }
  const how = `systemctl${scope === 'user' ? ' --user' : ''} enable --now hearth.service`
  if (json) io.out(JSON.stringify({ scope, unit: file, enabled: !failed, ...(failed ? { error: failed.r.out } : {}) }))
  else if (failed) io.err(`wrote ${file}, but could not enable it (${failed.r.out}); run \`${how}\` where systemd runs`)
  else {
    io.out(`installed and started ${file}`)
    if (scope === 'system') io.out('pins and model folders for it: /etc/hearth/settings.json (sudo hearth pin MODEL)')
    else io.out('it starts at login; `hearth service status` shows it')
  }
  return failed ? 1 : 0
}

async function uninstall(scope: 'user' | 'system', io: CliIo, json: boolean): Promise<number> {
  const { unitPath } = await import('../daemon/systemd')
  const file = unitPath(scope, process.env)
  if (systemdRuns()) systemctl(scope, ['disable', '--now', 'hearth.service'])
  const existed = existsSync(file)
  await rm(file, { force: true })
  if (systemdRuns()) systemctl(scope, ['daemon-reload'])
  if (json) io.out(JSON.stringify({ scope, unit: file, removed: existed }))
  else io.out(existed ? `removed ${file}` : `no unit at ${file}: nothing to remove`)
  return 0
}

async function status(scope: 'user' | 'system', io: CliIo, json: boolean): Promise<number> {
  const { unitPath } = await import('../daemon/systemd')
  const { attachToDaemon } = await import('../daemon/attach')
  const file = unitPath(scope, process.env)
  const installed = existsSync(file)
  const current = installed ? await readFile(file, 'utf8') : null
  const active = systemdRuns() ? systemctl(scope, ['is-active', 'hearth.service']).out || 'unknown' : 'systemd not running'
  const enabled = systemdRuns() ? systemctl(scope, ['is-enabled', 'hearth.service']).out || 'unknown' : 'systemd not running'
  const a = await attachToDaemon(process.env)
  a?.client.close()
  const daemon = a ? { pid: a.info.pid, host: a.info.host, socket: a.socketPath, since: new Date(a.info.startedAtMs).toISOString() } : null
  if (json) io.out(JSON.stringify({ scope, unit: file, installed, active, enabled, daemon, execStart: current?.match(/^ExecStart=(.*)$/m)?.[1] ?? null }))
  else {
    io.out(`unit:    ${file} (${installed ? 'installed' : 'not installed'})`)
    io.out(systemdRuns() ? `systemd: ${active}, ${enabled}` : 'systemd: not running on this machine')
    io.out(daemon ? `daemon:  running (${daemon.host}, pid ${daemon.pid}, ${daemon.socket})` : 'daemon:  none running for these settings')
  }
  return 0
}

export const serviceCommand: CliCommand = {
  name: 'service',
  summary: 'run the daemon under systemd: a user unit (desktop) or a system unit (GPU server)',
  usage: 'hearth service install|uninstall|status [--user|--system] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { user: { type: 'boolean' }, system: { type: 'boolean' }, json: { type: 'boolean' } },
    })
    const [verb, ...extra] = positionals
    if (!verb || extra.length) throw new UsageError('say install, uninstall or status')
    if (values.user && values.system) throw new UsageError('--user or --system, not both')
    const scope = values.system ? 'system' : 'user'
    if (scope === 'system' && verb !== 'status' && process.getuid?.() !== 0) {
      throw new UsageError('the system unit is installed as root: sudo hearth service install --system')
    }
    const json = Boolean(values.json)
    if (verb === 'install') return install(scope, io, json)
    if (verb === 'uninstall') return uninstall(scope, io, json)
    if (verb === 'status') return status(scope, io, json)
    throw new UsageError(`unknown action "${verb}": say install, uninstall or status`)
  },
}
