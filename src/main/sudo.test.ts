// `sudo hearth serve` must not hand root's file access to whoever holds the web token: it starts
// the helper (acting for SUDO_UID) while root, then becomes the sudo user for good.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildHelper, ggufBytes, repoRoot } from '../../test/support/helper-harness'
import { dropSudoRoot } from './sudo'

let dir = ''
beforeAll(() => {
  buildHelper()
  dir = mkdtempSync(join(tmpdir(), 'hearth-sudo-'))
  chmodSync(dir, 0o755)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('does nothing outside sudo', async () => {
  expect(await dropSudoRoot({ PATH: '/usr/bin' })).toBeNull()
})

it.skipIf(process.getuid?.() !== 0)('under sudo, serve runs as the sudo user with a helper acting for them (runs as root only)', () => {
  const secret = join(dir, 'root-only.gguf')
  writeFileSync(secret, ggufBytes(4096), { mode: 0o600 })
  const child = join(repoRoot, 'test/children/sudo-serve-child.ts')
  const r = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs hearth-test-run /run && exec "$@"', 'sh', process.execPath, '--import', 'tsx', child, secret],
    { cwd: repoRoot, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/root', SUDO_UID: '65534', SUDO_GID: '65534' }, timeout: 60_000 },
  )
  expect(r.status, r.stderr).toBe(0)
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
  expect(out).toMatchObject({
    dropped: { uid: 65534, gid: 65534, user: 'nobody', helper: true },
    uid: 65534,
    gid: 65534,
    home: '/nonexistent',
    helperUid: '65534',
    available: true,
    stage: `PERMISSION: user 65534 may not read ${secret}`,
    read: 'EACCES',
  })
  expect(out.log.join('\n')).toMatch(/running as nobody \(uid 65534\), not root/)
}, 90_000)
