// Residency of a file the kernel hides from its reader, answered by the privileged helper. The
// child (helper-probe-child.ts) is an ordinary user (uid 12345) with a root helper acting for it;
// the file belongs to "nobody" with mode 0644, so that user may read it but cachestat refuses it
// and mincore would claim 100%. fincore, run here as root, is the referee.
import type { ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildHelper, jsonLineChild, repoRoot } from '../../../../test/support/helper-harness'
import { hiddenResidencyReason } from '../../sys/mincore'
import { evict, fincoreBytes, readRange, writeColdFile } from '../../../../test/support/files'

const MiB = 1 << 20
const uid = 12345
let dir = ''
let child: ChildProcess | null = null

beforeAll(async () => {
  buildHelper()
  dir = await mkdtemp(join(tmpdir(), 'hearth-helper-residency-'))
  chmodSync(dir, 0o755)
})
afterAll(async () => {
  child?.kill('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

type Reply = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** Puts a GGUF header (magic, version 3) at the start of a file, written back, nothing cached. */
function markAsGguf(path: string): void {
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]), 0, 8, 0)
  fsyncSync(fd)
  closeSync(fd)
  evict(path)
}

it.skipIf(process.getuid?.() !== 0)('an ordinary user sees a hidden file’s residency through a running helper, paced and cached, and never starts one for it', async () => {
  const file = join(dir, 'system-blob')
  writeColdFile(file, 16 * MiB)
  markAsGguf(file) // the helper answers for model files only
  chownSync(file, 65534, 65534)
  chmodSync(file, 0o644)
  evict(file)

  const c = jsonLineChild<Reply>(process.execPath, ['--import', 'tsx', join(__dirname, '../../../../test/children/helper-probe-child.ts'), String(uid), join(dir, 'scratch')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: dir },
  })
  child = c.child
  const { next, ask } = c
  expect(await next()).toMatchObject({ ready: true, uid, helperUid: uid })

  // Without a running helper: unknown with the reason, and no helper started for it.
  const u = await ask(`unstarted ${file}`)
  expect(u.r).toMatchObject({ residentBytes: null, unknownReason: hiddenResidencyReason, bytes: 16 * MiB })
  expect(u.started).toBe(false)

  // With one: the truth (cold), then the truth after a partial read.
  expect((await ask(`fresh ${file}`)).r).toMatchObject({ method: 'helper', residentBytes: 0, bytes: 16 * MiB })
  expect(fincoreBytes(file)).toBe(0)
  readRange(file, 0, 4 * MiB)
  const after = await ask(`fresh ${file}`)
  expect(after.r.method).toBe('helper')
  expect(after.r.residentBytes).toBe(fincoreBytes(file))
  expect(after.r.residentBytes).toBe(4 * MiB)

  // A cached answer is reused: the second question reaches no helper.
  const c1 = await ask(`cached ${file}`)
  evict(file)
  const c2 = await ask(`cached ${file}`)
  expect(c2.r).toEqual(c1.r)
  expect(c2.asks).toBe(c1.asks)
  expect(c1.r.residentBytes).toBe(4 * MiB)

  // 30 questions in a row: the client's token bucket (burst 20, 10/s) holds some back and
  // answers them from the last answer, so the helper never has to say BUSY.
  const burst = await ask(`burst ${file} 30`)
  expect(burst.methods).toEqual(['helper'])
  expect(burst.known).toBe(30)
  expect(burst.asks).toBeLessThan(30)
  // How many got through depends on how much of the bucket the earlier questions used and on
  // timing; that some did is what matters.
  expect(burst.asks).toBeGreaterThan(0)

  child.stdin!.write('exit\n')
  await new Promise((ok) => child!.once('close', ok))
  child = null
}, 60_000)
