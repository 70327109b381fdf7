// The units `hearth service install` writes, checked by systemd's own verifier, and the command
// itself on this machine (where systemd does not run as the init system).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unitPath, unitText } from './systemd'

const root = new URL('../../..', import.meta.url).pathname
const hearth = [process.execPath, join(root, 'bin/hearth.js')]
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-units-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** systemd-analyze verify: exit status and everything it printed (it warns on bad values but exits 0). */
function verify(scope: 'user' | 'system', text: string) {
  const unitDir = join(dir, scope)
  mkdirSync(unitDir, { recursive: true })
  const file = join(unitDir, 'hearth.service')
  writeFileSync(file, text)
  const runtime = join(dir, 'runtime')
  mkdirSync(runtime, { recursive: true, mode: 0o700 })
  const r = spawnSync('systemd-analyze', [...(scope === 'user' ? ['--user'] : []), 'verify', file], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' },
  })
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() }
}

describe('systemd units', () => {
  for (const scope of ['user', 'system'] as const) {
    it(`the ${scope} unit passes systemd-analyze verify with nothing to say`, () => {
      expect(verify(scope, unitText(scope, hearth))).toEqual({ status: 0, output: '' })
    })
  }

  it('refuses a launcher path with a line break (it would write directives of its own)', () => {
    expect(() => unitText('user', ['/opt/hearth dir\nExecStartPre=/bin/touch /tmp/pwned', '--cli'])).toThrow(/a line break in the command/)
    expect(unitText('user', ['/opt/hearth dir/hearth'])).toContain('ExecStart="/opt/hearth dir/hearth" daemon --autostart')
  })

  it('the verifier speaks up about a broken unit (so silence above means something)', () => {
    const broken = unitText('system', hearth).replace('IOSchedulingPriority=7', 'IOSchedulingPriority=9')
    expect(verify('system', broken).output).toMatch(/IO priority/)
  })

  it('runs the daemon with background priorities; the system unit keeps pins in /etc and can lock', () => {
    const user = unitText('user', hearth)
    const system = unitText('system', hearth)
    for (const u of [user, system]) {
      expect(u).toContain(`ExecStart=${hearth.join(' ')} daemon --autostart`)
      expect(u).toMatch(/^Nice=10$/m)
      expect(u).toMatch(/^IOSchedulingClass=best-effort$/m)
      expect(u).toMatch(/^IOSchedulingPriority=7$/m)
    }
    expect(user).toMatch(/^WantedBy=default\.target$/m)
    expect(system).toMatch(/^WantedBy=multi-user\.target$/m)
    expect(system).toMatch(/^Environment=XDG_CONFIG_HOME=\/etc$/m)
    expect(system).toMatch(/^LimitMEMLOCK=infinity$/m)
    expect(system).toMatch(/^RuntimeDirectory=hearth-daemon$/m)
    expect(system).not.toMatch(/ProtectSystem|PrivateTmp|PrivateMounts/) // staging's mounts must be seen outside
  })

  it('quotes an ExecStart path with spaces the way systemd reads it', () => {
    const text = unitText('user', ['/home/me/My Apps/Hearth.AppImage'])
    expect(text).toContain('ExecStart="/home/me/My Apps/Hearth.AppImage" daemon --autostart')
  })
})

describe('hearth service', () => {
  const systemdRuns = existsSync('/run/systemd/system')
  function run(args: string[], home: string) {
    const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), 'service', ...args], {
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_RUNTIME_DIR: join(home, 'run') },
      encoding: 'utf8',
      timeout: 60_000,
    })
    return { code: r.status, out: r.stdout, err: r.stderr }
  }

  it.skipIf(systemdRuns)(
    `install --user writes the unit and says it could not enable it here${systemdRuns ? ' (skipped: systemd runs here, and install would really enable it)' : ''}`,
    () => {
      const home = mkdtempSync(join(dir, 'home-'))
      const r = run(['install', '--user', '--json'], home)
      expect(r.code, r.err).toBe(1)
      const file = join(home, '.config/systemd/user/hearth.service')
      expect(JSON.parse(r.out)).toEqual({ scope: 'user', unit: file, enabled: false, error: 'systemd is not running on this machine' })
      expect(unitPath('user', { HOME: home, XDG_CONFIG_HOME: join(home, '.config') })).toBe(file)
      const text = readFileSync(file, 'utf8')
      expect(text).toMatch(/^ExecStart=\S+ \S+\/bin\/hearth\.js daemon --autostart$/m)
      expect(verify('user', text)).toEqual({ status: 0, output: '' })
      const status = run(['status', '--user', '--json'], home)
      expect(JSON.parse(status.out)).toMatchObject({ installed: true, active: 'systemd not running', daemon: null })
      expect(run(['uninstall', '--user'], home).out).toMatch(/^removed /)
      expect(existsSync(file)).toBe(false)
    },
  )

  it('refuses a system install without root, and bad verbs', () => {
    const home = mkdtempSync(join(dir, 'home-'))
    expect(run(['restart'], home)).toMatchObject({ code: 2 })
    expect(run(['install', '--user', '--system'], home)).toMatchObject({ code: 2 })
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(root, 'bin/hearth.js'), 'service', 'install', '--system'], {
      env: { PATH: process.env.PATH, HOME: home },
      encoding: 'utf8',
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/sudo hearth service install --system/)
    expect(existsSync('/etc/systemd/system/hearth.service')).toBe(false)
  })
})
