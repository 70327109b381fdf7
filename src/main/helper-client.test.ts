import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HearthError } from '../shared/api'
import { buildHelper, ggufBytes, prodHelper } from '../../test/support/helper-harness'
import { decodeValue, encodeValue, HelperClient, helperSpawnEnv, privilegeStatus } from './helper-client'

const isRoot = process.getuid?.() === 0
let dir = ''
beforeAll(() => {
  buildHelper() // so the checkout's helper exists: the branches below are the ones this machine takes
  dir = mkdtempSync(join(tmpdir(), 'hearth-client-'))
  chmodSync(dir, 0o755)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A stand-in helper: a shell script that answers hello, then does what `then` says. */
function fakeHelper(then: string): HelperClient {
  const script = `read l; echo "\${l%% *} ok version=1 uid=0 pid=$$"; ${then}`
  return new HelperClient({ launch: { command: 'sh', args: ['-c', script] }, env: { PATH: process.env.PATH } })
}

/** Rejects when p has not settled within ms (a request that would hang). */
const within = <T,>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`still pending after ${ms} ms`)), ms))])

describe('helper client', () => {
  it('percent-encodes values so the helper sees one printable token', () => {
    const v = '/home/ü ser/a%b=c.gguf'
    const e = encodeValue(v)
    expect(e).toMatch(/^[\x21-\x7e]+$/)
    expect(e).not.toContain('=')
    expect(decodeValue(e)).toBe(v)
  })

  it('says why privileged actions are unavailable without pkexec (the helper is built)', () => {
    const s = privilegeStatus({ PATH: '/nonexistent' }, 1000)
    expect(s).toMatchObject({ available: false, mode: 'none' })
    expect(s.reason).toMatch(/^pkexec is not installed/)
  })

  it('says the helper is not installed when neither the installed nor the built one exists', () => {
    const s = privilegeStatus({ PATH: '/usr/bin' }, 0, { installed: join(dir, 'none'), dev: join(dir, 'none-either') })
    expect(s).toMatchObject({ available: false, mode: 'none', helperPath: null })
    expect(s.reason).toMatch(/not installed .*make -C src\/helper/)
  })

  it('runs the built helper directly when already root', () => {
    expect(privilegeStatus({ PATH: '/usr/bin' }, 0)).toMatchObject({ available: true, mode: 'root', launch: { command: prodHelper, args: [] } })
  })

  it('passes SUDO_UID on to the helper only when root under sudo', () => {
    expect(helperSpawnEnv({ SUDO_UID: '1000', PATH: '/x' }, 0)).toEqual({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SUDO_UID: '1000' })
    expect(helperSpawnEnv({ SUDO_UID: '1000' }, 1000)).toEqual({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' })
    expect(helperSpawnEnv({ SUDO_UID: '10x' }, 0)).toEqual({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' })
  })

  it('an error the helper answers with id 0 fails every pending request, with the reason', async () => {
    const h = fakeHelper(`read l; echo "0 err BAD_INPUT msg=request%20line%20is%20longer%20than%2016384%20bytes"; sleep 5`)
    const e = await within(h.request('status'), 3000).catch((x: HearthError) => x)
    expect(e).toBeInstanceOf(HearthError)
    expect((e as HearthError).code).toBe('BAD_INPUT')
    expect((e as HearthError).message).toMatch(/could not attribute: request line is longer than 16384 bytes/)
    h.kill()
  })

  it('a helper that exits fails the pending request with how it ended', async () => {
    const h = fakeHelper('read l; echo gone >&2; exit 3')
    const e = (await within(h.request('status'), 3000).catch((x: HearthError) => x)) as HearthError
    expect([e.code, e.message]).toEqual(['UNAVAILABLE', 'the helper exited (code 3): gone'])
  })

  it('refuses a request line the helper could not read, before sending it', async () => {
    const h = fakeHelper('sleep 5')
    const e = (await h.request('stage', { path: '/' + 'é'.repeat(3000) }).catch((x: HearthError) => x)) as HearthError
    expect(e.code).toBe('BAD_INPUT')
    expect(e.message).toMatch(/too long for the helper \(over 16384 bytes encoded\)/)
    h.kill()
  })

  it.skipIf(!isRoot)('under sudo the helper acts for SUDO_UID: a 0600 root file is refused for uid 65534 (runs as root only: it starts the helper)', async () => {
    const secret = join(dir, 'secret.gguf')
    writeFileSync(secret, ggufBytes(4096), { mode: 0o600 })
    // The installed build, started the way a root backend starts it, in a private namespace
    // with its own /run (so nothing lands on this machine's /run).
    const h = new HelperClient({
      launch: { command: 'unshare', args: ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs hearth-test-run /run && exec "$0"', prodHelper] },
      env: { PATH: process.env.PATH, SUDO_UID: '65534' },
    })
    try {
      await h.start()
      expect(h.helloFields.uid).toBe('65534')
      const e = (await h.request('stage', { path: secret }).catch((x: HearthError) => x)) as HearthError
      expect([e.code, e.message]).toEqual(['PERMISSION', `user 65534 may not read ${secret}`])
      expect(((await h.request('hello', { uid: '0' }).catch((x: HearthError) => x)) as HearthError).code).toBe('PERMISSION')
    } finally {
      await h.close()
    }
  })
})
