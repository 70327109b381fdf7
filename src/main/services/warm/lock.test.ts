// Lock survives pressure: inside a memory-limited cgroup (384 MiB; v2 memory.max or v1
// memory.limit_in_bytes, the helper prints which), a Hearth locker holds file L while a twin T of
// the same size was merely read; a hog then allocates until the cgroup must reclaim. Everything
// runs inside the cgroup, so the rest of the machine never feels it.
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { droppedAfterReadSlackBytes, evict, fincoreBytes, makeDataFile, tempDir } from '../../../../test/support/files'
import { cgroupUnavailable, memoryLimited, type MemoryCgroup } from '../../../../test/support/cgroup'

const MiB = 1 << 20
const tmp = tempDir('hearth-lock-')
const kids: { kill: () => void }[] = []
let cg: MemoryCgroup | undefined

afterAll(() => {
  for (const k of kids) k.kill()
  cg?.remove()
  tmp.cleanup()
})

/** Runs argv inside the cgroup (the shell joins it, then execs). */
function inCgroup(argv: string[]) {
  return spawn('sh', ['-c', `echo $$ > ${cg!.procsFile} && exec "$@"`, 'sh', ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
}

const unavailable = cgroupUnavailable('memory')
it.skipIf(unavailable)(`a locked file survives a memory hog that evicts its unlocked twin${unavailable ? ` (skipped: ${unavailable})` : ''}`, async () => {
  const locked = makeDataFile(join(tmp.dir, 'locked.bin'), 64)
  const twin = makeDataFile(join(tmp.dir, 'twin.bin'), 64)
  cg = memoryLimited(384 * MiB)

  const locker = inCgroup([process.execPath, '--import', 'tsx', join(__dirname, '../../../../test/children/warm-child.ts'), 'hold', locked])
  kids.push(locker)
  const line = await new Promise<string>((ok) => locker.stdout!.once('data', (d) => ok(String(d))))
  expect(JSON.parse(line)).toMatchObject({ code: 'OK' })
  // The twin's pages are charged to the cgroup by reading it from inside.
  execFileSync('sh', ['-c', `echo $$ > ${cg.procsFile} && cat ${twin} > /dev/null`])
  expect(fincoreBytes(locked)).toBe(64 * MiB)
  expect(fincoreBytes(twin)).toBeGreaterThanOrEqual(64 * MiB - droppedAfterReadSlackBytes)

  // The hog touches 360 MiB in 8 MiB steps; the cgroup reclaims cache (or OOM-kills the hog).
  const hog = inCgroup(['python3', '-c', 'b=[bytearray(8<<20) for _ in range(45)]; print("done", flush=True)'])
  kids.push(hog)
  await new Promise((ok) => hog.on('close', ok))

  expect(cg.limitHits()).toBeGreaterThan(0)
  expect(fincoreBytes(locked)).toBe(64 * MiB)
  expect(fincoreBytes(twin)).toBeLessThan(32 * MiB)
  locker.stdin!.end()
  await new Promise((ok) => locker.on('close', ok))
  evict(locked)
  expect(fincoreBytes(locked)).toBeLessThan(MiB) // unlocked when the holder exits
}, 60_000)
