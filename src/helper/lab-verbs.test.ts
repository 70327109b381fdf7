// The load lab's helper verbs, as root against the real kernel: memory pressure (locked dummy
// memory that always leaves the reserve, checked against MemAvailable while held, and gone after
// SIGKILL) and v1 memory cgroups made inside the helper's own, which the helper moves only the
// caller's processes into. Pressure holds stay small (~512 MiB) by raising the reserve to just under what is free:
// the machine is shared.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildHelper, openNamespace, refusal, repoRoot, type Namespace } from '../../test/support/helper-harness'
import type { HelperClient } from '../main/helper-client'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const root = process.getuid?.() === 0
const v1Memory = existsSync('/sys/fs/cgroup/memory/cgroup.procs')

const meminfoBytes = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024
const memAvailable = () => meminfoBytes('MemAvailable')
const vmLckBytes = (pid: number) => Number(/^VmLck:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitFor(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (ok()) return
  throw new Error(`timed out waiting for ${what}`)
}

let ns: Namespace | null = null
beforeAll(() => buildHelper())
afterEach(async () => {
  await ns?.dispose()
  ns = null
})

/** Holds about `bytes` by raising the reserve to just under what is free now. */
async function holdAbout(h: HelperClient, bytes: number) {
  const reserve = memAvailable() - bytes
  const r = await h.request('pressure', { leave: '0', reserve: String(reserve) })
  return { reserve, reply: r.fields }
}

async function holderOf(h: HelperClient): Promise<number> {
  const kids = childrenOf(h.pid!)
  expect(kids).toHaveLength(1)
  return kids[0]
}

describe.skipIf(!root)('pressure (dummy memory locked through the helper)', () => {
  it('holds down to the reserve and no further: MemAvailable never under it while held, even when something else then needs memory', async () => {
    ns = await openNamespace()
    const h = ns.helper({ uid: 65534 })
    let { reserve, reply } = await holdAbout(h, 512 * MiB)
    let holder = await holderOf(h)
    expect(Number(reply['reserve-bytes'])).toBe(reserve)
    expect(Number(reply['held-bytes'])).toBeGreaterThan(384 * MiB)
    expect(vmLckBytes(holder)).toBe(Number(reply['held-bytes']))
    const lows: number[] = []
    for (let i = 0; i < 10; i++, await sleep(100)) lows.push(memAvailable())
    expect(Math.min(...lows)).toBeGreaterThan(reserve - 32 * MiB)

    // Something else needs memory: the holder gives it back rather than eat into the reserve. The
    // machine is shared (a test process ending frees memory too), so the need grows 64 MiB at a
    // time, up to all the holder holds, until the holder has given back 128 MiB. If other work
    // took memory meanwhile, the holder has already given back most of it: hold afresh, so that
    // there is something left to give.
    if (vmLckBytes(holder) < 256 * MiB) {
      ;({ reserve, reply } = await holdAbout(h, 512 * MiB))
      holder = await holderOf(h)
    }
    const heldBefore = vmLckBytes(holder)
    expect(heldBefore, `held after ${reply['held-bytes']} bytes were locked`).toBeGreaterThanOrEqual(256 * MiB)
    const hogs: Buffer[] = []
    for (let i = 0; i < 8 && vmLckBytes(holder) >= heldBefore - 128 * MiB; i++) {
      hogs.push(Buffer.alloc(64 * MiB, 1))
      await waitFor('the holder to shed', () => vmLckBytes(holder) < heldBefore - 128 * MiB, 1500).catch(() => undefined)
    }
    expect(vmLckBytes(holder)).toBeLessThan(heldBefore - 128 * MiB)
    await sleep(400)
    expect(memAvailable()).toBeGreaterThan(reserve - 64 * MiB)
    const st = await h.request('pressure-status')
    expect(Number(st.fields['shed-bytes'])).toBeGreaterThan(128 * MiB)
    expect(Number(st.fields['held-bytes'])).toBe(vmLckBytes(holder))
    expect(hogs.every((b) => b[b.length - 1] === 1)).toBe(true)

    // Other work on this shared machine may have taken back more meanwhile: compare with the holder.
    const stillHeld = vmLckBytes(holder)
    const rel = await h.request('pressure-release')
    expect(Number(rel.fields['released-bytes'])).toBe(stillHeld)
    expect(alive(holder)).toBe(false)
  })

  it("the client cannot lower the helper's floor (2 GiB, at least 5% of RAM), and a hold that would go under it is refused", async () => {
    ns = await openNamespace()
    const h = ns.helper({ uid: 65534 })
    const floor = Math.max(2 * GiB, Math.floor(meminfoBytes('MemTotal') / 20))
    // reserve=1 and leave=1: the helper keeps its floor. Asked to leave more than is free: refused.
    const e = await refusal(h.request('pressure', { leave: String(memAvailable() + GiB), reserve: '1' }))
    expect(e.code).toBe('TOO_LARGE')
    const st = await h.request('pressure-status')
    expect(Number(st.fields['floor-bytes'])).toBe(floor)
    expect(Number(st.fields['reserve-bytes'])).toBe(floor)
    expect(Number(st.fields['held-bytes'])).toBe(0)
    expect((await refusal(h.request('pressure', { reserve: '1' }))).message).toMatch(/missing field leave/)
  })

  it('releases everything when its holder is killed: SIGKILL of the helper, of the app that started it, and `off`', async () => {
    ns = await openNamespace()
    // SIGKILL of the helper itself.
    const h = ns.helper({ uid: 65534 })
    await holdAbout(h, 256 * MiB)
    const holder = await holderOf(h)
    expect(vmLckBytes(holder)).toBeGreaterThan(128 * MiB)
    h.kill('SIGKILL')
    await waitFor('the holder to die with the helper', () => !alive(holder))

    // SIGKILL of the app (a process that started the helper and asked for the hold).
    const app = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/children/pressure-app-child.ts'), String(ns.pid), ns.base, String(256 * MiB)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((ok) => app.stdout!.once('data', (d) => ok(String(d))))
    const { helperPid, heldBytes } = JSON.parse(line) as { helperPid: number; heldBytes: number }
    expect(heldBytes).toBeGreaterThan(128 * MiB)
    const appHolder = childrenOf(helperPid)[0]
    expect(vmLckBytes(appHolder)).toBe(heldBytes)
    app.kill('SIGKILL')
    await waitFor('the holder to die with the app', () => !alive(appHolder) && !alive(helperPid))

    // off
    const h2 = ns.helper({ uid: 65534 })
    await holdAbout(h2, 256 * MiB)
    const holder2 = await holderOf(h2)
    const held2 = vmLckBytes(holder2)
    const off = await h2.request('off')
    expect(Number(off.fields['pressure-released-bytes'])).toBe(held2)
    expect(alive(holder2)).toBe(false)
    expect(Number((await h2.request('pressure-status')).fields['held-bytes'])).toBe(0)
  })
})

describe.skipIf(!root || !v1Memory)('memory cgroups (v1, through the helper)', () => {
  const nobody = 65534
  const asNobody = (script: string) => spawnSync('setpriv', ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', 'sh', '-c', script], { encoding: 'utf8' })

  const memoryCgroupOf = (pid: number) => /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1]
  const sleepAs = (uid: number, cgroupProcs?: string) =>
    spawn('sh', ['-c', `${cgroupProcs ? `echo $$ > ${cgroupProcs} && ` : ''}exec setpriv --reuid ${uid} --regid ${uid} --clear-groups sleep 30`], { stdio: 'ignore' })
  const started = async (p: ReturnType<typeof spawn>) => {
    await waitFor('the sleeper to run', () => readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep')
    return p.pid!
  }

  it("makes a limited cgroup inside the helper's own; moves in only the caller's processes from that cgroup; remove, count bound, off and exit clean up", async () => {
    ns = await openNamespace()
    const h = ns.helper({ uid: nobody })
    const made = await h.request('cgroup-create', { limit: String(64 * MiB) })
    const path = made.fields.path
    // Under the cgroup the helper (and the app that started it) runs in: its limits still apply.
    const own = memoryCgroupOf(h.pid!)
    expect(path).toMatch(new RegExp(`^/sys/fs/cgroup/memory${own === '/' ? '' : own}/hearth/h\\d+-\\d+$`))
    expect(readFileSync(join(path, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * MiB))
    expect(statSync(join(path, 'memory.limit_in_bytes')).uid).toBe(nobody) // to follow the loader
    for (const f of ['cgroup.procs', 'tasks', 'memory.oom_control', '.']) expect(statSync(join(path, f)).uid).toBe(0)

    // The caller cannot move anything in by itself (on v1 that would take any of its processes
    // out from under any limit); the helper moves its processes from its own cgroup only.
    expect(asNobody(`echo $$ > ${path}/cgroup.procs`).status).not.toBe(0)
    const mine = sleepAs(nobody)
    const minePid = await started(mine)
    expect(memoryCgroupOf(minePid)).toBe(own)
    await h.request('cgroup-join', { id: made.fields.id, pid: String(minePid) })
    expect(memoryCgroupOf(minePid)).toBe(path.slice('/sys/fs/cgroup/memory'.length))
    const rootSleep = spawn('sleep', ['30'])
    const foreign = await refusal(h.request('cgroup-join', { id: made.fields.id, pid: String(rootSleep.pid) }))
    expect(foreign.code).toBe('PERMISSION')
    expect(foreign.message).toMatch(/is not the caller's own process/)
    expect(memoryCgroupOf(rootSleep.pid!)).toBe(own)
    rootSleep.kill('SIGKILL')
    // A process of the caller's that lives under a tighter limit elsewhere stays there.
    const tight = join(`/sys/fs/cgroup/memory${own === '/' ? '' : own}`, `hearth-test-tight-${process.pid}`)
    mkdirSync(tight)
    try {
      writeFileSync(join(tight, 'memory.limit_in_bytes'), String(64 * MiB))
      const escaper = sleepAs(nobody, join(tight, 'cgroup.procs'))
      const escaperPid = await started(escaper)
      const escape = await refusal(h.request('cgroup-join', { id: made.fields.id, pid: String(escaperPid) }))
      expect(escape.code).toBe('PERMISSION')
      expect(escape.message).toMatch(/lives in another memory cgroup/)
      expect(memoryCgroupOf(escaperPid)).toBe(tight.slice('/sys/fs/cgroup/memory'.length))
      escaper.kill('SIGKILL')
      await new Promise((ok) => escaper.once('exit', ok))
    } finally {
      await waitFor('the tight cgroup to empty', () => readFileSync(join(tight, 'cgroup.procs'), 'utf8').trim() === '')
      rmdirSync(tight)
    }
    expect((await refusal(h.request('cgroup-join', { id: '999', pid: String(minePid) }))).code).toBe('NOT_FOUND')

    // Busy while a process runs in it; removed once empty.
    expect((await refusal(h.request('cgroup-remove', { id: made.fields.id }))).code).toBe('BUSY')
    mine.kill('SIGKILL')
    await new Promise((ok) => mine.once('exit', ok))
    await waitFor('the cgroup to empty', () => readFileSync(join(path, 'cgroup.procs'), 'utf8').trim() === '')
    await h.request('cgroup-remove', { id: made.fields.id })
    expect(existsSync(path)).toBe(false)
    expect((await refusal(h.request('cgroup-remove', { id: made.fields.id }))).code).toBe('NOT_FOUND')

    // Bounded: 8 at once. `off` removes them.
    const many = []
    for (let i = 0; i < 8; i++) many.push((await h.request('cgroup-create', { limit: String(32 * MiB) })).fields.path)
    expect((await refusal(h.request('cgroup-create', { limit: String(32 * MiB) }))).code).toBe('TOO_LARGE')
    expect(Number((await h.request('off')).fields['cgroups-removed'])).toBe(8)
    for (const p of many) expect(existsSync(p)).toBe(false)

    // Limits below 16 MiB are refused before anything is made.
    expect((await refusal(h.request('cgroup-create', { limit: String(MiB) }))).code).toBe('BAD_INPUT')

    // At exit the helper removes its own; after SIGKILL the next helper sweeps what was left.
    const atExit = (await h.request('cgroup-create', { limit: String(32 * MiB) })).fields.path
    await h.close()
    expect(existsSync(atExit)).toBe(false)
    const killed = ns.helper({ uid: nobody })
    const left = (await killed.request('cgroup-create', { limit: String(32 * MiB) })).fields.path
    const killedPid = killed.pid!
    killed.kill('SIGKILL')
    await waitFor('the killed helper to go', () => !alive(killedPid))
    expect(existsSync(left)).toBe(true)
    const next = ns.helper({ uid: nobody })
    const fresh = await next.request('cgroup-create', { limit: String(32 * MiB) })
    expect(existsSync(left)).toBe(false)
    await next.request('cgroup-remove', { id: fresh.fields.id })
  })
})
