import { spawn, type ChildProcess } from 'node:child_process'
import { statSync, truncateSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HearthError, type Job } from '../../../shared/api'
import { formatBytes } from '../../../shared/format'
import { createHub } from '../../hub'
import { openSettings } from '../../settings'
import type { ResolvedFile } from '../../context'
import { createJobRunner } from '../jobs'
import { createWarmService, type WarmServiceDeps } from '.'
import { droppedAfterReadSlackBytes, evict, fincoreBytes, makeDataFile, tempDir } from '../../../../test/support/files'
import { cgroupUnavailable, throttleReads } from '../../../../test/support/cgroup'
import { warmFile, type WarmEngine } from './warm-file'

const MiB = 1 << 20
const tmp = tempDir('hearth-warm-')
let data: string

async function makeService(models: Record<string, string[]> = {}, extra: Partial<WarmServiceDeps> = {}) {
  const hub = createHub()
  const jobs = createJobRunner({ hub })
  const settings = await openSettings({ XDG_CONFIG_HOME: join(tmp.dir, `cfg-${Math.random()}`) })
  const resolve = async (targets: string[]): Promise<ResolvedFile[]> =>
    targets.flatMap((t) =>
      models[t]
        ? models[t].map((p) => ({ path: p, bytes: statSync(p).size, modelId: t }))
        : [{ path: t, bytes: (() => { try { return statSync(t).size } catch { return 0 } })() }],
    )
  const warm = createWarmService({ jobs, settings, resolve, modelResidency: async () => [], modelName: (id) => `model ${id}`, ...extra })
  return { hub, jobs, settings, warm }
}

/** "96.0 MiB" → its bytes (NaN for any other unit), so a note's sizes can be checked against formatBytes. */
function bytesOf(size: string): number {
  const [value, unit] = size.split(' ')
  const power = ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(unit)
  return power < 0 ? NaN : Number(value) * 1024 ** power
}

const settle = (jobs: ReturnType<typeof createJobRunner>, j: Job) => jobs.wait(j.id)

// Tests that need a slow disk make one with a read-throttled cgroup (v2 io.max or v1 blkio; the
// helper prints which); where neither exists they are skipped and say why in their name.
const noThrottle = cgroupUnavailable('io')
const throttled = (name: string) => (noThrottle ? `${name} (skipped: no read throttle here: ${noThrottle})` : name)

beforeAll(() => {
  data = makeDataFile(join(tmp.dir, 'data.bin'), 96)
})
afterAll(() => tmp.cleanup())

describe('warm', () => {
  for (const engine of ['sendfile', 'read', 'populate'] as WarmEngine[]) {
    it(`leaves the file 100% resident (${engine})`, async () => {
      evict(data)
      const before = fincoreBytes(data)
      expect(before).toBeLessThan(8 * MiB)
      const { jobs, warm } = await makeService({}, { engine })
      const [job] = await warm.warm([data], { lowCpu: engine === 'populate' })
      const end = await settle(jobs, job)
      expect(end.status).toBe('done')
      // It read every page that was not resident when it began…
      expect(before + end.doneBytes).toBeGreaterThanOrEqual(96 * MiB)
      // …and the kernel holds them (less the few MiB it may drop unasked).
      expect(fincoreBytes(data)).toBeGreaterThanOrEqual(96 * MiB - droppedAfterReadSlackBytes)
      // In the units the rest of Hearth shows (formatBytes, formatRate), never a second scheme.
      const parts = /^read (.+) in [<\d.]+ s \((.+)\/s\); (.+) was already resident/.exec(end.note ?? '')
      expect(parts, end.note).not.toBeNull()
      for (const size of parts!.slice(1)) expect(formatBytes(bytesOf(size))).toBe(size)
    })
  }

  it('when sendfile is unavailable (a filesystem without splice) the read fallback warms the whole file', async () => {
    evict(data)
    expect(fincoreBytes(data)).toBeLessThan(8 * MiB)
    let refused = 0
    let reported = 0
    const r = await warmFile(data, {
      signal: new AbortController().signal,
      readers: 2,
      onBytes: (n) => (reported += n),
      // what sendfile(2) answers where the filesystem cannot splice: every call fails
      sendfile: async () => (refused++, -1),
    })
    // Both readers hit the refusal before falling back, and every later chunk is read with pread.
    expect(refused).toBeGreaterThanOrEqual(1)
    expect(r.readBytes).toBeGreaterThanOrEqual(88 * MiB)
    expect(reported).toBe(r.readBytes)
    expect(r.readBytes + r.alreadyResidentBytes).toBe(96 * MiB)
    expect(fincoreBytes(data)).toBeGreaterThanOrEqual(96 * MiB - droppedAfterReadSlackBytes)
  })

  it('reads only what is missing: half-resident reads half, fully resident returns at once', async () => {
    evict(data)
    const { jobs, warm } = await makeService()
    // make the first half resident
    const { execFileSync } = await import('node:child_process')
    execFileSync('dd', [`if=${data}`, 'of=/dev/null', 'bs=1M', 'count=48', 'status=none'])
    const plan = await warm.plan([data])
    expect(plan.toReadBytes).toBeGreaterThanOrEqual(40 * MiB)
    expect(plan.toReadBytes).toBeLessThanOrEqual(56 * MiB)
    const end = await settle(jobs, (await warm.warm([data]))[0])
    expect(end.doneBytes).toBeLessThanOrEqual(56 * MiB)
    expect(fincoreBytes(data)).toBeGreaterThanOrEqual(96 * MiB - droppedAfterReadSlackBytes)
    const again = await settle(jobs, (await warm.warm([data]))[0])
    expect(again.doneBytes).toBe(0)
    expect(again.note).toMatch(/^read 0 B; [\d.]+ MiB was already resident/)
  })

  it.skipIf(noThrottle)(throttled('a second request for the same model joins the running job'), async () => {
    evict(data)
    const { jobs, warm } = await makeService({ m1: [data] })
    const undo = throttleReads(data, 64 * MiB)
    try {
      const [a] = await warm.warm(['m1'])
      const [b] = await warm.warm(['m1'])
      expect(b.id).toBe(a.id)
      await settle(jobs, a)
    } finally {
      undo()
    }
  })

  it.skipIf(noThrottle)(throttled('cancel stops the reads: residency stops growing within a second'), async () => {
    evict(data)
    const { jobs, warm } = await makeService()
    // At 24 MiB/s the whole file would take 4 s. The kernel's readahead already queued in the
    // throttle still lands after a cancel (it cannot be called back), so look from 1.5 s on.
    const undo = throttleReads(data, 24 * MiB)
    try {
      const [job] = await warm.warm([data])
      await new Promise((r) => setTimeout(r, 600))
      jobs.cancel(job.id)
      const end = await settle(jobs, job)
      expect(end.status).toBe('cancelled')
      expect(end.error?.code).toBe('CANCELLED')
      await new Promise((r) => setTimeout(r, 1500))
      const a = fincoreBytes(data)
      await new Promise((r) => setTimeout(r, 1500))
      const b = fincoreBytes(data)
      // reads still going would add ~36 MiB in 1.5 s and finish the file
      expect(b - a).toBeLessThan(2 * MiB)
      expect(b).toBeLessThan(80 * MiB)
    } finally {
      undo()
    }
  })

  it.skipIf(noThrottle)(throttled('a stalled read fails the job with the reason instead of hanging'), async () => {
    evict(data)
    const { jobs, warm } = await makeService({}, { stallMs: 800 })
    const undo = throttleReads(data, 64 * 1024)
    try {
      const end = await settle(jobs, (await warm.warm([data]))[0])
      expect(end.status).toBe('failed')
      expect(end.error?.code).toBe('IO')
      expect(end.error?.message).toMatch(/no data for .* stopped answering/)
    } finally {
      undo()
    }
  })

  it.skipIf(noThrottle)(throttled('a file that shrinks mid-warm fails with both sizes; one that vanishes fails too'), async () => {
    const victim = makeDataFile(join(tmp.dir, 'victim.bin'), 32)
    const { jobs, warm } = await makeService()
    let undo = throttleReads(victim, 8 * MiB)
    try {
      const [job] = await warm.warm([victim])
      await new Promise((r) => setTimeout(r, 500))
      truncateSync(victim, 4 * MiB)
      const end = await settle(jobs, job)
      expect(end.status).toBe('failed')
      expect(end.error?.message).toMatch(/shrank from 33554432 to 4194304 bytes/)
    } finally {
      undo()
    }
    const gone = makeDataFile(join(tmp.dir, 'gone.bin'), 12)
    undo = throttleReads(gone, 4 * MiB)
    try {
      const [job] = await warm.warm([gone])
      await new Promise((r) => setTimeout(r, 300))
      unlinkSync(gone)
      const end = await settle(jobs, job)
      expect(end.status).toBe('failed')
      expect(end.error?.message).toMatch(/vanished/)
    } finally {
      undo()
    }
  })

  it('a model larger than RAM is refused with the numbers; a missing file is NOT_FOUND', async () => {
    const huge = join(tmp.dir, 'huge.bin')
    writeFileSync(huge, '')
    truncateSync(huge, 1024 ** 4) // sparse: 1 TiB of nothing
    const { warm } = await makeService()
    const err = await warm.warm([huge]).catch((e) => e)
    expect(err).toBeInstanceOf(HearthError)
    expect(err.code).toBe('TOO_LARGE')
    expect(err.message).toMatch(/is 1\.00 TiB but RAM is [\d.]+ [GT]iB/)
    const lockErr = await warm.lock([huge]).catch((e) => e)
    expect(lockErr.code).toBe('TOO_LARGE')
    const missing = await warm.warm([join(tmp.dir, 'nope.bin')]).catch((e) => e)
    expect(missing.code).toBe('NOT_FOUND')
    unlinkSync(huge)
  })
})

describe('evict', () => {
  let child: ChildProcess | undefined
  afterAll(() => child?.kill())

  it('drops residency to ~0, and names the process whose mapping keeps pages resident', async () => {
    const { jobs, warm } = await makeService()
    await settle(jobs, (await warm.warm([data]))[0])
    expect(fincoreBytes(data)).toBeGreaterThanOrEqual(96 * MiB - droppedAfterReadSlackBytes)
    const [r] = await warm.evict([data])
    expect(r.job.status).toBe('done')
    expect(fincoreBytes(data)).toBeLessThan(MiB)
    expect(r.files[0].holders).toEqual([])

    // A child maps the first 16 MiB and touches every page.
    child = spawn('python3', ['-c', `
import mmap, sys
f = open(sys.argv[1], 'rb')
m = mmap.mmap(f.fileno(), 16 << 20, prot=mmap.PROT_READ)
s = sum(m[i] for i in range(0, 16 << 20, 4096))
print('mapped', flush=True)
sys.stdin.read()
`, data], { stdio: ['pipe', 'pipe', 'inherit'] })
    await new Promise<void>((ok) => child!.stdout!.once('data', () => ok()))
    await settle(jobs, (await warm.warm([data]))[0])
    const [held] = await warm.evict([data])
    const f = held.files[0]
    expect(f.residentBytes).toBeGreaterThanOrEqual(15 * MiB)
    expect(f.residentBytes).toBeLessThanOrEqual(17 * MiB)
    expect(f.holders).toContainEqual({ pid: child.pid, command: 'python3' })
    expect(held.job.note).toMatch(new RegExp(`stayed resident: mapped by python3 \\(pid ${child.pid}\\)`))
    expect(held.lockedByThisHearth).toBeUndefined()
    child.kill()
  })

  it("names Hearth's own lock as such (not \"mapped by node\"), and evicts once it is unlocked", async () => {
    // 4 MiB: within an unprivileged RLIMIT_MEMLOCK too, so the lock is this process's own.
    const small = makeDataFile(join(tmp.dir, 'locked-here.bin'), 4)
    const { jobs, warm } = await makeService({ mine: [small] })
    const [lockJob] = await warm.lock(['mine'])
    expect((await settle(jobs, lockJob)).status).toBe('done')
    expect(warm.locks()).toMatchObject([{ modelId: 'mine', holder: 'hearth', pid: process.pid }])

    const [r] = await warm.evict(['mine'])
    expect(r.lockedByThisHearth).toBe(true)
    expect(r.files[0].residentBytes).toBe(4 * MiB)
    expect(r.files[0].holders).toEqual([{ pid: process.pid, command: expect.any(String), hearthLock: 'this' }])
    expect(r.job.note).toBe(`4.00 MiB stayed resident: Hearth itself holds it locked in RAM (pid ${process.pid}); Unlock it (in the app, or \`hearth unlock mine\`), then evict again`)
    expect(r.job.note).not.toMatch(/mapped by/)

    await warm.unlock(['mine'])
    const [after] = await warm.evict(['mine'])
    expect(after.job.note).toBe('evicted')
    expect(after.lockedByThisHearth).toBeUndefined()
    expect(fincoreBytes(small)).toBeLessThan(MiB)
  })

  it('names a lock another Hearth holds (`hearth lock` in a terminal) with its command line', async () => {
    const small = makeDataFile(join(tmp.dir, 'locked-there.bin'), 4)
    const home = join(tmp.dir, 'other-home')
    const other = spawn(process.execPath, [join(__dirname, '../../../../bin/hearth.js'), 'lock', small], {
      cwd: join(__dirname, '../../../..'),
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(home, 'none'), HEARTH_NO_DAEMON: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    try {
      let err = ''
      await new Promise<void>((ok, fail) => {
        other.stderr!.on('data', (d) => {
          err += d
          if (/holding the lock/.test(err)) ok()
        })
        other.once('exit', (code) => fail(new Error(`hearth lock exited (${code}): ${err}`)))
      })
      // Stdin is not a terminal here (as under a service manager): the lock must still hold.
      await new Promise((r) => setTimeout(r, 300))
      expect(other.exitCode).toBeNull()
      const { warm } = await makeService()
      const [r] = await warm.evict([small])
      expect(r.lockedByThisHearth).toBeUndefined()
      expect(r.files[0].holders).toContainEqual({ pid: other.pid, command: `hearth lock ${small}`, hearthLock: 'other' })
      expect(r.job.note).toBe(`4.00 MiB stayed resident: another Hearth holds it (\`hearth lock ${small}\`, pid ${other.pid}); end that one (Ctrl-C in its terminal) or unlock it there`)
    } finally {
      if (other.exitCode === null && other.signalCode === null) {
        const exited = new Promise((ok) => other.once('exit', ok))
        other.kill('SIGINT')
        await exited
      }
    }
    evict(small)
    expect(fincoreBytes(small)).toBeLessThan(MiB)
  }, 60_000)
})

describe('keep-warm', () => {
  it('re-warms a pinned model after an external evict and records it', async () => {
    const { jobs, warm, settings } = await makeService({ pinned: [data] }, { keepWarmMinIntervalMs: 0 })
    await warm.pin('pinned')
    expect(settings.get().pins).toEqual(['pinned'])
    await warm.checkPins()
    for (const j of jobs.list()) await jobs.wait(j.id)
    expect(fincoreBytes(data)).toBeGreaterThanOrEqual(96 * MiB - droppedAfterReadSlackBytes)
    evict(data)
    await warm.checkPins()
    const rewarm = jobs.list().find((j) => j.kind === 'rewarm')
    expect(rewarm).toBeDefined()
    const end = await jobs.wait(rewarm!.id)
    expect(end.status).toBe('done')
    expect(end.note).toMatch(/kept warm: residency had dropped to \d+%/)
    expect(fincoreBytes(data)).toBeGreaterThanOrEqual(96 * MiB - droppedAfterReadSlackBytes)
    const [p] = await warm.pins()
    expect(p.lastRewarmMs).not.toBeNull()
    expect(p.rewarms).toBeGreaterThanOrEqual(1)
    expect(p.lastRewarmBytes).toBeGreaterThan(80 * MiB)
    // An evict of the pinned model says it will not last, and how to make it last.
    const [pinnedEvict] = await warm.evict(['pinned'])
    expect(pinnedEvict.job.note).toBe('evicted; it is pinned, so keep-warm (the app or `hearth daemon`) reads it back soon: `hearth unpin pinned` to keep it out of RAM')
    await warm.unpin('pinned')
    expect(settings.get().pins).toEqual([])
    expect((await warm.evict(['pinned']))[0].job.note).toBe('evicted')
  })
})

describe('as another user', () => {
  it('permission denied and RLIMIT_MEMLOCK too small give clear errors', async () => {
    const secret = makeDataFile(join(tmp.dir, 'secret.bin'), 16)
    chmodSync(secret, 0o600)
    const open = makeDataFile(join(tmp.dir, 'open.bin'), 16)
    chmodSync(open, 0o644)
    chmodSync(tmp.dir, 0o755)
    const out = await runAsNobody(['warm', secret])
    expect(out).toMatchObject({ code: 'PERMISSION' })
    expect(out.message).toMatch(/permission denied/)
    const lockOut = await runAsNobody(['lock', open])
    expect(lockOut).toMatchObject({ code: 'TOO_LARGE' })
    expect(lockOut.message).toMatch(/RLIMIT_MEMLOCK.*limits\.conf/)
    // …and why the helper cannot lock it instead (no pkexec here, or no installed helper).
    expect(lockOut.message).toMatch(/privileged helper is not possible either: .*(pkexec|install)/)
  })
})

function runAsNobody(args: string[]): Promise<{ code: string; message: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../../../test/children/warm-child.ts'), ...args], {
      uid: 65534,
      gid: 65534,
      cwd: join(__dirname, '../../../..'),
      env: { PATH: process.env.PATH, HOME: tmp.dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!))
      } catch {
        reject(new Error(`child printed ${out}`))
      }
    })
  })
}
