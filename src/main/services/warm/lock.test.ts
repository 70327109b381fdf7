// Lock survives pressure: inside a memory-limited cgroup (v1, 384 MiB), a Hearth locker holds file
// L while a twin T of the same size was merely read; a hog then allocates until the cgroup must
// reclaim. Everything runs inside the cgroup, so the rest of the machine never feels it.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { evict, fincoreBytes, makeDataFile, tempDir } from '../../../../test/support/files'

const MiB = 1 << 20
const tmp = tempDir('hearth-lock-')
const cg = `/sys/fs/cgroup/memory/hearth-lock-test-${process.pid}`
const kids: { kill: () => void }[] = []

afterAll(() => {
  for (const k of kids) k.kill()
  for (let i = 0; i < 50 && existsSync(cg); i++) {
    try {
      rmdirSync(cg)
    } catch {
      execFileSync('sleep', ['0.1'])
    }
  }
  tmp.cleanup()
})

/** Runs argv inside the cgroup (the shell joins it, then execs). */
function inCgroup(argv: string[]) {
  return spawn('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh', ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
}

it.skipIf(process.getuid?.() !== 0 || !existsSync('/sys/fs/cgroup/memory'))('a locked file survives a memory hog that evicts its unlocked twin', async () => {
  const locked = makeDataFile(join(tmp.dir, 'locked.bin'), 64)
  const twin = makeDataFile(join(tmp.dir, 'twin.bin'), 64)
  mkdirSync(cg)
  writeFileSync(`${cg}/memory.limit_in_bytes`, String(384 * MiB))
  writeFileSync(`${cg}/memory.swappiness`, '0')

  const locker = inCgroup([process.execPath, '--import', 'tsx', join(__dirname, '../../../../test/children/warm-child.ts'), 'hold', locked])
  kids.push(locker)
  const line = await new Promise<string>((ok) => locker.stdout!.once('data', (d) => ok(String(d))))
  expect(JSON.parse(line)).toMatchObject({ code: 'OK' })
  // The twin's pages are charged to the cgroup by reading it from inside.
  execFileSync('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && cat ${twin} > /dev/null`])
  expect(fincoreBytes(locked)).toBe(64 * MiB)
  expect(fincoreBytes(twin)).toBe(64 * MiB)

  // The hog touches 360 MiB in 8 MiB steps; the cgroup reclaims cache (or OOM-kills the hog).
  const hog = inCgroup(['python3', '-c', 'b=[bytearray(8<<20) for _ in range(45)]; print("done", flush=True)'])
  kids.push(hog)
  await new Promise((ok) => hog.on('close', ok))

  expect(Number(readFileSync(`${cg}/memory.failcnt`, 'utf8'))).toBeGreaterThan(0)
  expect(fincoreBytes(locked)).toBe(64 * MiB)
  expect(fincoreBytes(twin)).toBeLessThan(32 * MiB)
  locker.stdin!.end()
  await new Promise((ok) => locker.on('close', ok))
  evict(locked)
  expect(fincoreBytes(locked)).toBeLessThan(MiB) // unlocked when the holder exits
}, 60_000)
