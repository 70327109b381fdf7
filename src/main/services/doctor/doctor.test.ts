// The Doctor against the real thing: child processes holding a catalogued model the three ways
// loaders do (O_DIRECT, mmap, read() into memory), a real v1 memory cgroup with a limit holding a
// reader, real inotify instances opened by a child, real RLIMIT_MEMLOCK values, and the live
// machine's FS-Cache state ("not used here").
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Finding } from '../../../shared/api'
import { createBackend, type Backend } from '../../backend'
import { evict, tempDir } from '../../../../test/support/files'
import { folderHome } from '../../../../test/support/folder-home'
import { writeGguf } from '../../../../test/helpers/gguf-writer'
import { llamaShape } from '../../../../test/helpers/model-shapes'

const child = join(__dirname, '../../../../test/children/model-reader.ts')
const MiB = 1 << 20
let tmp: ReturnType<typeof tempDir>
let backend: Backend
let modelPath: string
let modelId: string
let modelBytes: number
const kids: ChildProcess[] = []

/** Starts a process and waits for its one JSON line. */
async function start(cmd: string, args: string[]): Promise<{ pid: number; proc: ChildProcess }> {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  kids.push(proc)
  let err = ''
  proc.stderr!.on('data', (d) => (err += d))
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', ok)
    proc.once('exit', (code) => fail(new Error(`${cmd} exited (${code}): ${err}`)))
  })
  return { pid: JSON.parse(line).pid as number, proc }
}

const reader = (mode: string, title?: string, wrap: string[] = []) => {
  const argv = [...wrap, process.execPath, '--import', 'tsx', child, mode, modelPath, ...(title ? [title] : [])]
  return start(argv[0], argv.slice(1))
}

const findingOf = (findings: Finding[], check: string, pid: number) => findings.find((f) => f.check === check && f.id.endsWith(`:${pid}`))
const evidenceOf = (f: Finding | undefined, label: string | RegExp) => f?.evidence.find((e) => (typeof label === 'string' ? e.label === label : label.test(e.label)))

beforeAll(async () => {
  tmp = tempDir('hearth-doctor-')
  const { models, env } = folderHome(tmp.dir)
  // ~270 MiB: big enough that a reader's own anonymous memory (Node's ~40 MiB) cannot pass for it.
  modelPath = join(models, 'doctor-reader Q8_0.gguf')
  await writeGguf(modelPath, llamaShape({ layers: 12, embd: 1024, heads: 16, headsKv: 8, ff: 4096, vocab: 32000, fileType: 'Q8_0', name: 'Doctor Reader' }))
  backend = await createBackend({ env })
  const catalog = await backend.rescan()
  expect(catalog.models).toHaveLength(1)
  modelId = catalog.models[0].id
  modelBytes = catalog.models[0].bytes
}, 120_000)

afterAll(async () => {
  for (const k of kids) k.kill('SIGKILL')
  await backend?.stop()
  tmp?.cleanup()
})

describe('model processes', () => {
  it('finds a child reading the model with O_DIRECT, one mapping it and one that read() it, and classifies each', async () => {
    const direct = await reader('direct', 'llama-server')
    const mapped = await reader('mmap', 'llama-server')
    const readIn = await reader('read', 'llama-server')
    const closed = await reader('read-closed')
    const r = await backend.doctor()

    const d = findingOf(r.findings, 'processes', direct.pid)
    expect(d?.status).toBe('fail')
    expect(d?.title).toMatch(new RegExp(`^llama-server \\(pid ${direct.pid}\\) reads .* with O_DIRECT`))
    const flags = d!.evidence.find((e) => /open flags/.test(e.label))!
    expect(flags.amount! & 0o40000).toBe(0o40000)
    expect(flags.source).toMatch(new RegExp(`/proc/${direct.pid}/fdinfo/\\d+$`))
    expect(d?.fix?.action).toEqual({ kind: 'stage', targets: [modelId] })
    expect(d?.modelIds).toEqual([modelId])

    const m = findingOf(r.findings, 'processes', mapped.pid)
    expect(m?.status).toBe('ok')
    expect(m?.title).toMatch(/maps .* \(mmap\)/)
    // The whole file is mapped: the maps ranges add up to its size rounded to pages.
    expect(evidenceOf(m, /^mapped /)?.amount).toBe(Math.ceil(modelBytes / 4096) * 4096)

    const rd = findingOf(r.findings, 'processes', readIn.pid)
    expect(rd?.status).toBe('warn')
    expect(rd?.title).toMatch(/read .* into its own memory/)
    expect(evidenceOf(rd, 'anonymous memory (RssAnon)')!.amount!).toBeGreaterThanOrEqual(0.8 * modelBytes)
    // Buffered: its fd has no O_DIRECT.
    expect(rd!.evidence.find((e) => /open flags/.test(e.label))!.amount! & 0o40000).toBe(0)

    // No fd, no mapping: found by the model path on its command line, classified by its memory.
    const c = findingOf(r.findings, 'processes', closed.pid)
    expect(c?.status).toBe('warn')
    expect(c?.title).toMatch(/into its own memory/)
    expect(r.findings.filter((f) => f.status === 'fail').map((f) => f.id)).toContain(d!.id)
    for (const k of [direct, mapped, readIn, closed]) k.proc.stdin!.end()
  }, 120_000)
})

describe('cgroup memory limits', () => {
  const cg = `/sys/fs/cgroup/memory/hearth-doctor-test-${process.pid}`
  it.skipIf(process.getuid?.() !== 0 || !existsSync('/sys/fs/cgroup/memory'))('reports a real v1 memory cgroup whose limit is below the model its reader holds', async () => {
    mkdirSync(cg)
    try {
      writeFileSync(`${cg}/memory.limit_in_bytes`, String(64 * MiB))
      const held = await reader('mmap', undefined, ['sh', '-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh'])
      const r = await backend.doctor()
      const f = r.findings.find((x) => x.check === 'cgroups' && x.id === `cgroups:1:/hearth-doctor-test-${process.pid}`)
      expect(f?.status).toBe('fail')
      expect(evidenceOf(f, 'hard limit')?.amount).toBe(64 * MiB)
      expect(evidenceOf(f, 'hard limit')?.source).toBe(`${cg}/memory.limit_in_bytes`)
      expect(evidenceOf(f, 'processes')?.value).toContain(`pid ${held.pid}`)
      expect(f?.modelIds).toEqual([modelId])
      expect(f?.fix?.steps?.[0].command).toBe(`echo -1 | sudo tee ${cg}/memory.limit_in_bytes`)
      held.proc.kill('SIGKILL')
      await new Promise((ok) => held.proc.once('close', ok))
    } finally {
      for (let i = 0; i < 50 && existsSync(cg); i++) {
        try {
          rmdirSync(cg)
        } catch {
          execFileSync('sleep', ['0.1'])
        }
      }
    }
  }, 60_000)
})

describe('inotify', () => {
  it.skipIf(process.getuid?.() !== 0 || !existsSync('/usr/bin/python3'))('counts the instances and watches a child of another user opened, per user, against the limits', async () => {
    // A uid nobody else uses, so its totals are exactly what the child opened.
    const uid = 64000 + (process.pid % 1000)
    const script = [
      'import ctypes, json, os, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'fds = [libc.inotify_init1(0) for _ in range(7)]',
      'for fd in fds:',
      '  for p in (b"/", b"/usr", b"/etc"): libc.inotify_add_watch(fd, p, 0x100)',
      'print(json.dumps({"pid": os.getpid(), "fds": fds}), flush=True)',
      'sys.stdin.read()',
    ].join('\n')
    const k = await start('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/usr/bin/python3', '-c', script])
    const referee = Number(execFileSync('sh', ['-c', `find /proc/${k.pid}/fd -lname 'anon_inode:inotify' | wc -l`]).toString())
    expect(referee).toBe(7)
    const r = await backend.doctor()
    const inst = r.findings.find((f) => f.id === 'inotify:instances')
    const watches = r.findings.find((f) => f.id === 'inotify:watches')
    expect(evidenceOf(inst, `instances in use by uid ${uid}`)?.amount).toBe(7)
    expect(evidenceOf(watches, `watches in use by uid ${uid}`)?.amount).toBe(21)
    const limit = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'))
    expect(evidenceOf(inst, 'fs.inotify.max_user_instances')?.amount).toBe(limit)
    expect(inst?.fix?.action).toEqual({ kind: 'inotify', persist: true })
    k.proc.stdin!.end()
  }, 60_000)
})

describe('RLIMIT_MEMLOCK', () => {
  it("reports a model process's own limit and the user's, as the kernel holds them", async () => {
    const p = await reader('mmap', 'llama-server', ['prlimit', '--memlock=1048576:2097152'])
    const r = await backend.doctor()
    const f = findingOf(r.findings, 'limits', p.pid)
    expect(evidenceOf(f, 'RLIMIT_MEMLOCK (soft)')?.amount).toBe(MiB)
    expect(evidenceOf(f, 'RLIMIT_MEMLOCK (soft)')?.source).toBe(`/proc/${p.pid}/limits`)
    // The user's limit, against what a shell started from here says (ulimit -l is KiB).
    const shell = execFileSync('sh', ['-c', 'ulimit -l']).toString().trim()
    const user = r.findings.find((x) => x.id === 'limits:memlock')
    const soft = evidenceOf(user, 'soft limit')
    if (shell === 'unlimited') expect(soft?.value).toBe('unlimited')
    else expect(soft?.amount).toBe(Number(shell) * 1024)
    p.proc.stdin!.end()
  }, 60_000)
})

describe('network shares on this machine', () => {
  it('says "not used here" without an error where no model lives on a share and the kernel has no FS-Cache', async () => {
    const r = await backend.doctor()
    const f = r.findings.filter((x) => x.check === 'shares')
    expect(f).toHaveLength(1)
    expect(f[0]).toMatchObject({ id: 'shares:none', status: 'ok', title: 'Network shares: not used here' })
    expect(f[0].unknown).toBeUndefined()
    expect(evidenceOf(f[0], 'model files on nfs, nfs4, cifs or smb3')?.amount).toBe(0)
  }, 60_000)
})

describe('over time (the service started: hub topics, jobs)', () => {
  it("publishes every run on the 'doctor' topic with the findings new since the run before", async () => {
    const reports: { newSinceLastRun: Finding[] }[] = []
    const off = backend.subscribe('doctor', (r) => reports.push(r))
    await backend.doctor()
    const quiet = await backend.doctor() // nothing changed: nothing new
    expect(quiet.newSinceLastRun).toEqual([])
    const direct = await reader('direct', 'llama-server')
    const loud = await backend.doctor()
    expect(loud.newSinceLastRun.map((f) => f.id)).toEqual(loud.findings.filter((f) => f.id.endsWith(`:${direct.pid}`) && f.status === 'fail').map((f) => f.id))
    expect(loud.newSinceLastRun.length).toBeGreaterThan(0)
    expect(backend.ctx.doctor.newFindings()).toEqual(loud.newSinceLastRun)
    // A run narrowed to one model is not published and does not move the baseline.
    await backend.doctor({ model: modelId })
    expect(reports).toHaveLength(3)
    expect(reports[2]).toEqual(loud)
    off()
    direct.proc.stdin!.end()
    await new Promise((ok) => direct.proc.once('close', ok))
  }, 120_000)

  it("measures the disk's read bandwidth from a finished warm, checked against /proc/diskstats, and keeps it in settings", async () => {
    backend.ctx.doctor.start()
    try {
      const fd = openSync(modelPath, 'r')
      fsyncSync(fd) // written moments ago: dirty pages survive DONTNEED
      closeSync(fd)
      evict(modelPath)
      const [job] = await backend.warm({ targets: [modelId], force: true })
      const done = await backend.ctx.jobs.wait(job.id)
      expect(done.status).toBe('done')
      const lt = await backend.loadTimes()
      const file = lt.models.find((m) => m.modelId === modelId)!.files[0]
      // Both samples land one after the other once the job has ended.
      await expect.poll(() => backend.ctx.doctor.bandwidth.samples(file.device!).map((x) => x.source).sort(), { timeout: 10_000 }).toEqual(['diskstats', 'warm'])
      const warm = backend.ctx.doctor.bandwidth.samples(file.device!).find((x) => x.source === 'warm')!
      expect(warm.bytes).toBe(done.doneBytes)
      expect(warm.bytesPerSec).toBeCloseTo((done.doneBytes * 1000) / (done.endedAtMs! - done.startedAtMs!), 0)
      // The disk's own counters saw at least half of what the warm read (else no sample at all).
      expect(backend.ctx.doctor.bandwidth.samples(file.device!).find((x) => x.source === 'diskstats')!.bytes).toBeGreaterThanOrEqual(0.5 * done.doneBytes)
      expect(backend.ctx.settings.get().deviceBandwidth?.[file.device!]?.length).toBeGreaterThanOrEqual(2)
      const e = (await backend.loadTimes()).devices.find((d) => d.key === file.device)!
      expect(e.bytesPerSec).toBeGreaterThan(0)
    } finally {
      backend.ctx.doctor.stop()
    }
  }, 120_000)

  it("records residency pushes and counts what the kernel evicted, not Hearth's own evict", async () => {
    backend.ctx.doctor.start()
    try {
      const t = Date.now()
      const push = (atMs: number, residentBytes: number) => backend.ctx.hub.publish('residency', { atMs, models: [{ modelId, bytes: modelBytes, residentBytes, unknownBytes: 0, files: [] }] })
      push(t - 5000, modelBytes)
      push(t - 4000, modelBytes - 100 * MiB) // dropped, with no Hearth job about it
      const [ev] = await backend.evict({ targets: [modelId] })
      push(Date.now(), 0)
      const r = await backend.doctor({ model: modelId })
      const f = r.findings.find((x) => x.id === `pressure:evicted:${modelId}`)
      expect(f?.status).toBe('warn')
      expect(f?.evidence.find((e) => e.label === 'evicted by the kernel or other programs')?.amount).toBe(100 * MiB)
      expect(f?.evidence.find((e) => e.label === 'dropped by Hearth (evict, unstage)')?.amount).toBe(modelBytes - 100 * MiB)
      expect(ev.job.status).toBe('done')
    } finally {
      backend.ctx.doctor.stop()
    }
  }, 60_000)
})
