// Locking beyond RLIMIT_MEMLOCK lands in the privileged helper. A child process is an ordinary
// user (uid 12345) with a 64 KiB memory-lock limit and a root helper acting for it (see
// helper-lock-child.ts); the test, as root, reads both processes' VmLck from /proc, the kernel's
// own count of what each has mlock'd.
import { execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildHelper, jsonLineChild, repoRoot } from '../../../../test/support/helper-harness'
import type { LockInfo } from '../../../shared/api'
import { makeDataFile, tempDir } from '../../../../test/support/files'

const KiB = 1024
const MiB = 1 << 20
const uid = 12345
const tmp = tempDir('hearth-helper-lock-')
let child: ChildProcess | null = null

beforeAll(() => buildHelper())
afterAll(() => {
  child?.kill('SIGKILL')
  tmp.cleanup()
})

const vmLckBytes = (pid: number) => Number(/^VmLck:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * KiB

type Reply = { code?: string; message?: string; note?: string; locks?: LockInfo[]; [k: string]: unknown }

it.skipIf(process.getuid?.() !== 0)('an ordinary user with a small RLIMIT_MEMLOCK locks beyond it through the helper; unlock and off release it', async () => {
  chmodSync(tmp.dir, 0o755) // uid 12345 must reach the files
  const small = join(tmp.dir, 'small.bin')
  execFileSync('dd', ['if=/dev/urandom', `of=${small}`, 'bs=16K', 'count=1', 'conv=fsync', 'status=none'])
  const big = makeDataFile(join(tmp.dir, 'big.bin'), 4)
  // Sparse and bigger than lockMaxFraction (50%) of RAM: must be refused before any lock.
  const memTotalBytes = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * KiB
  const huge = join(tmp.dir, 'huge.bin')
  execFileSync('truncate', ['-s', String(Math.ceil(memTotalBytes * 0.6)), huge])
  for (const f of [small, big, huge]) chmodSync(f, 0o644)

  const c = jsonLineChild<Reply>('prlimit', ['--memlock=65536:65536', process.execPath, '--import', 'tsx', join(__dirname, '../../../../test/children/helper-lock-child.ts'), String(uid), join(tmp.dir, 'scratch')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: tmp.dir },
  })
  child = c.child
  const { next, ask } = c

  const ready = await next()
  expect(ready).toMatchObject({ ready: true, uid, helperUid: uid, memlock: { limitBytes: 65536, viaCapability: false } })
  const helperPid = ready.helperPid as number
  const childPid = child.pid!
  expect(vmLckBytes(helperPid)).toBe(0)

  // Within the limit: locked here, in the child itself.
  const s = await ask(`lock ${small}`)
  expect(s).toMatchObject({ code: 'OK', locks: [{ paths: [small], holder: 'hearth', lockedBytes: 16 * KiB }] })
  expect(vmLckBytes(childPid)).toBe(16 * KiB)
  expect(vmLckBytes(helperPid)).toBe(0)

  // 4 MiB is 64 times the limit: the helper holds it.
  const b = await ask(`lock ${big}`)
  expect(b.code).toBe('OK')
  expect(b.note).toMatch(/through the privileged helper .*beyond your memory-lock limit/)
  expect(b.locks!.find((l) => l.paths[0] === big)).toMatchObject({ holder: 'helper', lockedBytes: 4 * MiB })
  expect(vmLckBytes(helperPid)).toBe(4 * MiB)
  expect(vmLckBytes(childPid)).toBe(16 * KiB)

  // The lockMaxFraction cap stands in front of the helper too.
  const h = await ask(`lock ${huge}`)
  expect(h.code).toBe('TOO_LARGE')
  expect(h.message).toMatch(/at most 50% of RAM/)
  expect(vmLckBytes(helperPid)).toBe(4 * MiB)

  const u = await ask(`unlock ${big}`)
  expect(u.locks!.map((l) => l.holder)).toEqual(['hearth'])
  expect(vmLckBytes(helperPid)).toBe(0)
  expect(vmLckBytes(childPid)).toBe(16 * KiB)

  // `off` (what `hearth off` sends) releases the helper's locks, and the service forgets them.
  expect((await ask(`lock ${big}`)).code).toBe('OK')
  expect(vmLckBytes(helperPid)).toBe(4 * MiB)
  const off = await ask('off')
  expect(off).toMatchObject({ off: { unlocked: '1' } })
  expect(off.locks!.map((l) => l.holder)).toEqual(['hearth'])
  expect(vmLckBytes(helperPid)).toBe(0)

  child.stdin!.write('exit\n')
  await new Promise((ok) => child!.once('close', ok))
  child = null
}, 60_000)
