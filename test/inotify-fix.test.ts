// The inotify fix as a whole, as a user runs it: `hearth sysctl inotify` checks the limits, then
// --apply raises them, --persist writes the sysctl.d file, --revert puts both back — through the
// CLI, the staging service and the real (production) helper it starts as root.
//
// All of it runs inside the test harness's private mount namespace, where the two limits under
// /proc/sys/fs/inotify are bind mounts of the harness's scratch files, /etc/sysctl.d is its
// scratch folder and /run a fresh tmpfs (the helper's journal and saved originals). The machine's
// own limits and /etc are never touched; the test checks that too.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InotifyStatus } from '../src/shared/api'
import { buildHelper, openNamespace, repoRoot, type Namespace } from './support/helper-harness'

const root = process.getuid?.() === 0
const hostLimits = () => ['max_user_watches', 'max_user_instances'].map((k) => readFileSync(`/proc/sys/fs/inotify/${k}`, 'utf8'))
let ns: Namespace
let before: string[]

beforeAll(async () => {
  if (!root) return
  buildHelper()
  before = hostLimits()
  ns = await openNamespace()
  const inotify = join(ns.procSys, 'fs/inotify')
  // watches 8192 and instances 128: the kernel's defaults, below Hearth's advice
  execFileSync('nsenter', [
    '-t', String(ns.pid), '-m', '--', 'sh', '-ec',
    `mount --bind "$1/max_user_watches" /proc/sys/fs/inotify/max_user_watches
     mount --bind "$1/max_user_instances" /proc/sys/fs/inotify/max_user_instances
     mount --bind "$2" /etc/sysctl.d
     mount -t tmpfs -o mode=0755 hearth-test-run /run`,
    'sh', inotify, ns.sysctlD,
  ])
})
afterAll(async () => {
  await ns?.dispose()
  if (root) expect(hostLimits()).toEqual(before)
})

/** `hearth sysctl inotify ARGS` inside the namespace; the parsed --json output. */
function hearth(args: string[], json = true): { code: number | null; status: InotifyStatus; out: string; err: string } {
  const r = spawnSync('nsenter', ['-t', String(ns.pid), '-m', '--', process.execPath, join(repoRoot, 'bin/hearth.js'), 'sysctl', 'inotify', ...args, ...(json ? ['--json'] : [])], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: join(ns.dir, 'home'), HEARTH_OLLAMA_SYSTEM_DIR: join(ns.dir, 'none'), HEARTH_NO_DAEMON: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, status: json && r.status === 0 ? JSON.parse(r.stdout) : (undefined as never), out: r.stdout, err: r.stderr }
}

const limit = (name: string) => Number(readFileSync(join(ns.procSys, 'fs/inotify', name), 'utf8'))
const confFile = () => join(ns.sysctlD, '60-hearth-inotify.conf')

describe.skipIf(!root)(`hearth sysctl inotify: check, apply, persist, revert${root ? '' : ' (skipped: needs root for the mount namespace and the helper)'}`, () => {
  it('check: both limits LOW against the advice, nothing persisted, and the fix named', () => {
    const r = hearth([])
    expect(r.code, r.err).toBe(0)
    expect(r.status.watches).toMatchObject({ key: 'fs.inotify.max_user_watches', value: 8192, recommended: 524288, ok: false, persisted: null })
    expect(r.status.instances).toMatchObject({ key: 'fs.inotify.max_user_instances', value: 128, recommended: 1024, ok: false, persisted: null })
    expect(r.status.persistFile).toBe('/etc/sysctl.d/60-hearth-inotify.conf')
    const text = hearth([], false)
    expect(text.out).toMatch(/fs\.inotify\.max_user_instances\s+128\s+1024\s+-\s+LOW/)
    expect(text.out).toContain('fix: hearth sysctl inotify --apply --persist')
  })

  it('--apply raises both at runtime, remembers the originals, persists nothing', () => {
    const r = hearth(['--apply'])
    expect(r.code, r.err).toBe(0)
    expect([limit('max_user_watches'), limit('max_user_instances')]).toEqual([524288, 1024])
    expect(r.status.watches).toMatchObject({ value: 524288, ok: true, original: 8192, persisted: null })
    expect(r.status.instances).toMatchObject({ value: 1024, ok: true, original: 128, persisted: null })
    expect(existsSync(confFile())).toBe(false)
    expect(hearth([], false).out).not.toMatch(/LOW|fix:/)
  })

  it('--persist writes both keys to sysctl.d, read back as persisted', () => {
    const r = hearth(['--persist'])
    expect(r.code, r.err).toBe(0)
    const conf = readFileSync(confFile(), 'utf8')
    expect(conf).toMatch(/^fs\.inotify\.max_user_watches = 524288$/m)
    expect(conf).toMatch(/^fs\.inotify\.max_user_instances = 1024$/m)
    expect(r.status.watches.persisted).toBe(524288)
    expect(r.status.instances.persisted).toBe(1024)
  })

  it('--revert restores the originals and removes the sysctl.d file', () => {
    const r = hearth(['--revert'])
    expect(r.code, r.err).toBe(0)
    expect([limit('max_user_watches'), limit('max_user_instances')]).toEqual([8192, 128])
    expect(existsSync(confFile())).toBe(false)
    expect(r.status.watches).toMatchObject({ value: 8192, ok: false, persisted: null, original: null })
    expect(r.status.instances).toMatchObject({ value: 128, ok: false, persisted: null, original: null })
  })
})
