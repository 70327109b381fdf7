// The helper end to end, as root, inside private mount namespaces (see harness.ts).
import { createHash } from 'node:crypto'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HearthError } from '../shared/api'
import { buildHelper, ggufBytes, hearthMounts, openNamespace, prodHelper, refusal, type Namespace } from '../../test/support/helper-harness'

const MiB = 1024 * 1024
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function makeFile(dir: string, name: string, bytes: number): { path: string; hash: string } {
  const path = join(dir, name)
  const data = ggufBytes(bytes)
  writeFileSync(path, data, { mode: 0o644 })
  return { path, hash: sha(data) }
}

let ns: Namespace | null = null
beforeAll(() => buildHelper())
afterEach(async () => {
  await ns?.dispose()
  ns = null
})

describe('stage and unstage', () => {
  it('round trip: the original path reads the tmpfs copy, unstage and off leave nothing', async () => {
    ns = await openNamespace()
    const files = [makeFile(ns.dir, 'a.gguf', 3 * MiB + 123), makeFile(ns.dir, 'b with space.gguf', 9 * MiB), makeFile(ns.dir, 'c.gguf', 4097)]
    const h = ns.helper()
    let progress = 0
    const r = await h.request('stage', { path: files[1].path }, { onProgress: () => progress++ })
    expect(r.fields.bytes).toBe(String(9 * MiB))
    expect(progress).toBeGreaterThan(0)
    expect(sha(readFileSync(ns.inside(files[1].path)))).toBe(files[1].hash)
    const binds = hearthMounts(ns.mountinfo()).filter((l) => l.includes(' /s'))
    expect(binds).toHaveLength(1)
    expect(binds[0]).toContain('b\\040with\\040space.gguf')
    expect(binds[0]).toMatch(/ ro,/)
    // The host's view (outside the namespace) is the untouched original.
    expect(sha(readFileSync(files[1].path))).toBe(files[1].hash)

    await h.request('unstage', { path: files[1].path })
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(existsSync(ns.base)).toBe(false)

    for (const f of files) await h.request('stage', { path: f.path })
    const again = await h.request('stage', { path: files[0].path })
    expect(again.fields.already).toBe('1')
    const st = await h.request('status')
    expect(st.items.filter((i) => i.kind === 'stage')).toHaveLength(3)
    for (const f of files) expect(sha(readFileSync(ns.inside(f.path)))).toBe(f.hash)
    const off = await h.request('off')
    expect(off.items.filter((i) => i.kind === 'unstaged')).toHaveLength(3)
    expect(off.fields.failed).toBe('0')
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(existsSync(ns.base)).toBe(false)
    for (const f of files) expect(sha(readFileSync(f.path))).toBe(f.hash)
  })

  it('busy: a process mapping the copy blocks unstage (named), --lazy detaches', async () => {
    ns = await openNamespace()
    const f = makeFile(ns.dir, 'm.gguf', 2 * MiB)
    const h = ns.helper()
    await h.request('stage', { path: f.path })
    const mapper = ns.spawnInside('python3', ['-c', `import mmap,sys,time\nf=open(${JSON.stringify(f.path)},'rb')\nm=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\nf.close()\nprint('ready',flush=True)\ntime.sleep(60)`])
    await new Promise((ok) => mapper.stdout!.once('data', ok))
    const e = await refusal(h.request('unstage', { path: f.path }))
    expect(e.code).toBe('BUSY')
    expect(e.message).toContain(String(mapper.pid))
    expect(e.message).toContain('python3')
    expect(e.message).toMatch(/lazily/)
    expect(hearthMounts(ns.mountinfo()).filter((l) => l.includes(' /s'))).toHaveLength(1)
    const lazy = await h.request('unstage', { path: f.path, lazy: '1' })
    expect(lazy.fields.lazy).toBe('1')
    expect(lazy.items[0].fields.holders).toContain(String(mapper.pid))
    expect(hearthMounts(ns.mountinfo()).filter((l) => l.includes(' /s'))).toHaveLength(0)
    mapper.kill('SIGKILL')
  })
})

describe('capacity', () => {
  it('a reserve larger than free RAM is refused with numbers, before anything is made', async () => {
    ns = await openNamespace()
    const f = makeFile(ns.dir, 'big.gguf', MiB)
    const e = await refusal(ns.helper().request('stage', { path: f.path, reserve: String(2 ** 49) }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toMatch(/needs 0\.0 GiB, 0\.0 GiB available after the 524288\.0 GiB reserve/)
    expect(existsSync(ns.base)).toBe(false)
  })

  it('ENOSPC in the middle of the copy rolls the stage back', async () => {
    ns = await openNamespace()
    const f = makeFile(ns.dir, 'short.gguf', 40 * MiB)
    const h = ns.helper({ extraArgs: ['--test-tmpfs-short', String(12 * MiB)] })
    const e = await refusal(h.request('stage', { path: f.path }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toMatch(/filled up after/)
    expect(Number((e.detail as Record<string, string>)['done-bytes'])).toBeGreaterThan(0) // mid-copy, not before
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(existsSync(ns.base)).toBe(false)
    expect(sha(readFileSync(f.path))).toBe(f.hash)
  })
})

describe('crash safety', () => {
  it('SIGKILL before and after the mount, in stage and unstage: after restart fully staged or fully original', async () => {
    ns = await openNamespace()
    const f = makeFile(ns.dir, 'crash.gguf', 24 * MiB)
    // How long one stage and one unstage take here, to spread the kills over them and past them.
    const timer = ns.helper()
    await timer.request('status')
    let t0 = performance.now()
    await timer.request('stage', { path: f.path })
    const stageMs = performance.now() - t0
    t0 = performance.now()
    await timer.request('unstage', { path: f.path })
    const unstageMs = performance.now() - t0
    await timer.close()
    // Kills at 0 … 1.4x the time a whole request takes: the early ones land before the mount
    // (or unmount), the late ones after it.
    const runs = { stage: { staged: 0, original: 0 }, unstage: { staged: 0, original: 0 } }
    for (let run = 0; run < 24; run++) {
      const h = ns.helper()
      const staged0 = (await h.request('status')).fields.stages === '1'
      const verb = staged0 ? 'unstage' : 'stage'
      const delayMs = ((run % 8) / 5) * (staged0 ? unstageMs : stageMs)
      const p = h.request(verb, { path: f.path }).catch(() => {})
      await new Promise((r) => setTimeout(r, delayMs))
      h.kill('SIGKILL')
      await p
      const after = ns.helper() // its start reconciles the journal
      const st = await after.request('status')
      const binds = hearthMounts(ns.mountinfo()).filter((l) => l.includes(' /s'))
      if (st.fields.stages === '1') {
        runs[verb].staged++
        expect(binds).toHaveLength(1)
        expect(sha(readFileSync(ns.inside(f.path)))).toBe(f.hash)
      } else {
        runs[verb].original++
        expect(st.fields.stages).toBe('0')
        expect(binds).toHaveLength(0)
        expect(existsSync(join(ns.base, 'ram')) && readdirSync(ns.inside(join(ns.base, 'ram')))).toBeFalsy()
      }
      expect(sha(readFileSync(f.path))).toBe(f.hash)
      await after.close()
    }
    // Kills landed before the mount (a stage run left the original) and after it (a stage run
    // left it staged), and some unstages were interrupted too.
    expect(runs.stage.original, JSON.stringify(runs)).toBeGreaterThanOrEqual(1)
    expect(runs.stage.staged, JSON.stringify(runs)).toBeGreaterThanOrEqual(1)
    expect(runs.unstage.staged + runs.unstage.original, JSON.stringify(runs)).toBeGreaterThanOrEqual(1)
    await ns.helper().request('off')
    expect(existsSync(ns.base)).toBe(false)
  }, 90_000)
})

describe('hostile input', () => {
  const nobody = 65534

  it('refuses symlinks, .., unreadable files, non-regular files and /proc, as the calling uid, with no effect', async () => {
    ns = await openNamespace()
    const d = ns.dir
    const plain = makeFile(d, 'plain.gguf', 64 * 1024)
    const secret = makeFile(d, 'secret.gguf', 4096)
    chmodSync(secret.path, 0o600)
    mkdirSync(join(d, 'sub'))
    spawnSync('ln', ['-s', plain.path, join(d, 'link.gguf')])
    spawnSync('ln', ['-s', join(d, 'sub'), join(d, 'sublink')])
    writeFileSync(join(d, 'sub', 'inner.gguf'), 'x'.repeat(5000), { mode: 0o644 })
    spawnSync('mkfifo', [join(d, 'fifo')])
    spawnSync('mknod', [join(d, 'null'), 'c', '1', '3'])
    const h = ns.helper({ uid: nobody })
    const cases: [string, string, RegExp][] = [
      [join(d, 'link.gguf'), 'BAD_INPUT', /symbolic link/],
      [join(d, 'sublink', 'inner.gguf'), 'BAD_INPUT', /symbolic link/],
      [`${d}/sub/../plain.gguf`, 'BAD_INPUT', /\.\. component/],
      ['/etc/shadow', 'PERMISSION', /may not read/],
      [secret.path, 'PERMISSION', /may not read/],
      [join(d, 'sub'), 'BAD_INPUT', /is a directory/],
      [join(d, 'fifo'), 'BAD_INPUT', /is a FIFO/],
      [join(d, 'null'), 'BAD_INPUT', /is a device/],
      ['/dev/null', 'BAD_INPUT', /\/proc, \/sys or \/dev/],
      ['/proc/self/status', 'BAD_INPUT', /\/proc, \/sys or \/dev/],
      ['relative/path', 'BAD_INPUT', /not absolute/],
      [join(d, 'missing.gguf'), 'NOT_FOUND', /does not exist/],
    ]
    for (const [path, code, re] of cases) {
      for (const verb of ['stage', 'lock', 'residency']) {
        const e = await refusal(h.request(verb, { path }))
        expect([path, verb, e.code]).toEqual([path, verb, code])
        expect(e.message).toMatch(re)
      }
    }
    expect((await refusal(h.request('hello', { uid: '0' }))).code).toBe('PERMISSION')
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(existsSync(ns.base)).toBe(false)
    // The same uid may stage what it can read and owns.
    chownSync(plain.path, nobody, nobody)
    expect((await h.request('stage', { path: plain.path })).fields.bytes).toBe(String(64 * 1024))
    expect((await h.request('off')).items.map((i) => i.kind)).toEqual(['unstaged'])
  })

  it('a symlink swapped in a loop while staging never stages its target, a file the caller may read', async () => {
    ns = await openNamespace()
    const d = ns.dir
    const plain = makeFile(d, 'plain.gguf', 256 * 1024)
    // Readable and owned by the caller: a helper that followed the link would stage it, and the
    // copy's content would give it away.
    const target = makeFile(d, 'target.gguf', 256 * 1024)
    chownSync(plain.path, nobody, nobody)
    chownSync(target.path, nobody, nobody)
    const racer = ns.spawnInside('sh', ['-c', `cd ${d}; while :; do ln -sfn target.gguf l; mv -T l racy.gguf; ln -f plain.gguf p; mv -T p racy.gguf; done`])
    const h = ns.helper({ uid: nobody })
    const seen = { staged: 0, symlink: 0 }
    for (let i = 0; i < 400 && (seen.staged < 3 || seen.symlink < 3); i++) {
      let copy: string
      try {
        copy = (await h.request('stage', { path: join(d, 'racy.gguf') })).fields.copy
      } catch (e) {
        // Between the two renames the name is a symlink (refused) or, for a moment, missing (at
        // the open, or by the time the copy is bound over it).
        const err = e as HearthError
        if (err.code === 'BAD_INPUT') {
          expect(err.message).toMatch(/symbolic link/)
          seen.symlink++
        } else expect([err.code, err.message]).toEqual(['NOT_FOUND', expect.stringMatching(/does not exist|renamed or removed while it was copied/)])
        continue
      }
      seen.staged++
      expect(sha(readFileSync(ns.inside(join(ns.base, 'ram', copy))))).toBe(plain.hash)
      expect(sha(readFileSync(ns.inside(join(d, 'racy.gguf'))))).toBe(plain.hash)
      await h.request('off')
    }
    const racerGone = new Promise((ok) => racer.once('exit', ok))
    racer.kill('SIGKILL')
    await racerGone
    await h.request('off')
    expect(sha(readFileSync(target.path))).toBe(target.hash)
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    // Both sides of the race happened: stages of the hard link, refusals of the symlink.
    expect(seen.staged).toBeGreaterThanOrEqual(3)
    expect(seen.symlink).toBeGreaterThanOrEqual(3)
  }, 60_000)

  it('malformed requests: overlong lines, NUL bytes, unknown verbs and fields, bad numbers, sysctl keys off the list', async () => {
    ns = await openNamespace()
    const h = ns.helper()
    await h.request('status')
    expect(await h.raw('1'.repeat(20000) + '\n')).toMatch(/^0 err BAD_INPUT msg=request%20line%20is%20longer/)
    expect(await h.raw('77 stat\0us\n')).toMatch(/^77 err BAD_INPUT msg=request%20contains%20a%20NUL/)
    expect(await h.raw('78 format-disk\n')).toMatch(/^78 err BAD_INPUT msg=unknown%20verb/)
    expect(await h.raw('79 stage path=/tmp/a%00b\n')).toMatch(/^79 err BAD_INPUT .*NUL/)
    expect(await h.raw('80 stage path=/tmp/x path=/tmp/y\n')).toMatch(/^80 err BAD_INPUT .*twice/)
    expect(await h.raw('81 stage path=/tmp/x reserve=-1\n')).toMatch(/^81 err BAD_INPUT .*reserve/)
    expect(await h.raw('82 stage path=/tmp/x evil=1\n')).toMatch(/^82 err BAD_INPUT .*unknown%20field/)
    expect(await h.raw('0x1 status\n')).toMatch(/^0 err BAD_INPUT .*request%20id/)
    expect(await h.raw('83  status\n')).toMatch(/^83 err BAD_INPUT .*single%20spaces/)
    expect(await h.raw('84 sysctl-set key=kernel.core_pattern value=1\n')).toMatch(/^84 err BAD_INPUT .*not%20a%20key/)
    expect(await h.raw('85 sysctl-set key=fs.inotify.max_user_watches value=99999999\n')).toMatch(/^85 err BAD_INPUT .*must%20be%20from%208192/)
    expect(await h.raw('86 sysctl-set key=fs.inotify.max_user_watches value=00524288\n')).toMatch(/^86 err BAD_INPUT/)
    expect(await h.raw('87 stage path=/tmp/\xff\n')).toMatch(/^87 err BAD_INPUT .*non-ASCII/)
    expect(readFileSync(join(ns.procSys, 'fs/inotify/max_user_watches'), 'utf8')).toBe('8192\n')
    expect((await h.request('status')).fields.stages).toBe('0') // still answering
  })

  it('the installed build takes no arguments', () => {
    const r = spawnSync(prodHelper, ['--test-base', '/tmp/x'], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/takes no arguments/)
  })
})

describe('a client that stops reading', () => {
  it('cannot hold the journal lock that every helper shares: its helper counts it as gone and another helper undoes its stage', async () => {
    ns = await openNamespace()
    const big = makeFile(ns.dir, 'big.gguf', 64 * 1024 * 1024)
    const mountsBefore = hearthMounts(ns.mountinfo())
    // A stage, then 3,000 requests whose BUSY answers it never reads: the pipe fills while the
    // stage holds the lock. Replies may wait 2 s for it here (30 s in the installed build).
    const [command, ...args] = ns.helperArgv(['--test-stall-ms', '2000'])
    const stalled = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH } })
    stalled.stdout!.pause()
    let said = ''
    stalled.stderr!.on('data', (d) => (said += d))
    const exited = new Promise<number | null>((ok) => stalled.on('exit', (code) => ok(code)))
    stalled.stdin!.on('error', () => {}) // it may go before reading all of this
    stalled.stdin!.write(`1 stage path=${big.path}\n` + Array.from({ length: 3000 }, (_, i) => `${i + 2} status\n`).join(''))
    const code = await Promise.race([exited, new Promise<string>((ok) => setTimeout(() => ok('still running after 20 s'), 20_000))])
    stalled.kill('SIGKILL')
    expect(code).toBe(0)
    expect(said).toMatch(/the client read too slowly \(2 s of waiting for one request\); exiting as if it had gone/)
    // Another helper gets the lock at once, and its `off` leaves nothing behind.
    const other = ns.helper()
    const off = await other.request('off')
    expect(hearthMounts(ns.mountinfo()), JSON.stringify(off)).toEqual(mountsBefore)
    expect(sha(readFileSync(big.path))).toBe(big.hash)
  }, 40_000)
})

describe('a client that reads slowly', () => {
  it('does not pace a stage (and the lock it holds): progress it has no room for is dropped, and waits add up per request', async () => {
    ns = await openNamespace()
    // 1 GiB, sparse (a GGUF magic, then holes): the copy outlasts the first 200 ms, after which
    // every 8 MiB chunk has a progress line to send.
    const big = join(ns.dir, 'slow.gguf')
    writeFileSync(big, ggufBytes(4096), { mode: 0o644 })
    truncateSync(big, 1024 * 1024 * 1024)
    // A one-page pipe as stdout, read a page every 1.5 s: each write waits less than the 2 s
    // limit, so before, every chunk's progress line waited for the reader (~100 chunks, minutes).
    const driver = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=w, stderr=subprocess.DEVNULL)
os.close(w)
p.stdin.write(("1 stage path=%s\\n" % sys.argv[1]).encode()); p.stdin.flush()
t0 = time.time(); got = b""
while not any(l.startswith((b"1 ok", b"1 err")) for l in got.split(b"\\n")) and time.time() - t0 < 60:
    time.sleep(1.5)
    d = os.read(r, 4096)
    if not d: break
    got += d
print("%.1f" % (time.time() - t0)); print(got.decode().splitlines()[-1])
p.stdin.close(); p.wait()
`
    const r = spawnSync('python3', ['-c', driver, big, ...ns.helperArgv(['--test-stall-ms', '2000'])], { encoding: 'utf8', timeout: 90_000 })
    const [secs, last] = r.stdout.trim().split('\n')
    expect(last, r.stderr).toMatch(/^1 ok /)
    expect(Number(secs)).toBeLessThan(15)
    await ns.helper().request('off')
    expect(hearthMounts(ns.mountinfo()).filter((l) => l.includes(ns.dir))).toEqual([])
    expect(statSync(big).size).toBe(1024 * 1024 * 1024)
  }, 120_000)
})

describe('sysctl', () => {
  it('sets inotify limits at runtime, persists them atomically, and off restores the runtime values', async () => {
    ns = await openNamespace()
    const h = ns.helper()
    const key = 'fs.inotify.max_user_instances'
    const g = await h.request('sysctl-get', { key })
    expect(g.fields).toMatchObject({ value: '128', recommended: '1024', changed: '0' })
    await h.request('sysctl-set', { key, value: '1024' })
    await h.request('sysctl-set', { key, value: '2048' })
    expect(readFileSync(join(ns.procSys, 'fs/inotify/max_user_instances'), 'utf8')).toBe('2048\n')
    expect((await h.request('sysctl-get', { key })).fields).toMatchObject({ value: '2048', original: '128', changed: '1' })
    await h.request('sysctl-persist', { key, value: '1024' })
    await h.request('sysctl-persist', { key: 'fs.inotify.max_user_watches', value: '524288' })
    const conf = readFileSync(join(ns.sysctlD, '60-hearth-inotify.conf'), 'utf8')
    expect(conf).toContain('fs.inotify.max_user_instances = 1024\n')
    expect(conf).toContain('fs.inotify.max_user_watches = 524288\n')
    expect(readdirSync(ns.sysctlD)).toEqual(['60-hearth-inotify.conf'])
    const off = await h.request('off')
    expect(off.items.find((i) => i.kind === 'sysctl')?.fields.restored).toBe('128')
    expect(readFileSync(join(ns.procSys, 'fs/inotify/max_user_instances'), 'utf8')).toBe('128\n')
    expect(existsSync(ns.base)).toBe(false)
    await h.request('sysctl-persist', { key, clear: '1' })
    await h.request('sysctl-persist', { key: 'fs.inotify.max_user_watches', clear: '1' })
    expect(readdirSync(ns.sysctlD)).toEqual([])
  })

  it("a user may raise the limits, not lower them, and may not rewrite another user's sysctl.d file", async () => {
    ns = await openNamespace()
    const key = 'fs.inotify.max_user_watches'
    const live = () => readFileSync(join(ns.procSys, 'fs/inotify/max_user_watches'), 'utf8')
    writeFileSync(join(ns.procSys, 'fs/inotify/max_user_watches'), '192530\n') // a distribution's default
    const user = ns.helper({ uid: 65534 })
    const lower = await refusal(user.request('sysctl-set', { key, value: '8192' }))
    expect(lower.code).toBe('PERMISSION')
    expect(lower.message).toMatch(/raised from 192530 through Hearth, not lowered/)
    expect(live()).toBe('192530\n')
    await user.request('sysctl-set', { key, value: '524288' })
    expect(live()).toBe('524288\n')
    // back down to the original is still the user's to do; below it is not
    expect((await refusal(user.request('sysctl-set', { key, value: '192529' }))).code).toBe('PERMISSION')
    await user.request('sysctl-set', { key, value: '192530' })
    expect(live()).toBe('192530\n')
    // persisted: not below what the system has, and each key is its writer's
    expect((await refusal(user.request('sysctl-persist', { key, value: '8192' }))).message).toMatch(/persisted at 192530 or more/)
    expect(readdirSync(ns.sysctlD)).toEqual([])
    await user.request('sysctl-persist', { key, value: '524288' })
    const conf = join(ns.sysctlD, '60-hearth-inotify.conf')
    expect(readFileSync(conf, 'utf8')).toContain(`# ${key}: uid 65534\n${key} = 524288\n`)
    const other = ns.helper({ uid: 65533 })
    for (const fields of [{ key, clear: '1' }, { key, value: '1048576' }]) {
      const e = await refusal(other.request('sysctl-persist', fields))
      expect(e.code).toBe('PERMISSION')
      expect(e.message).toMatch(/max_user_watches in .* was written through Hearth by uid 65534/)
    }
    expect(readFileSync(conf, 'utf8')).toContain(`${key} = 524288\n`)
    // root's key in the same file stays root's: the user may neither clear nor lower it
    const root = ns.helper()
    const instances = 'fs.inotify.max_user_instances'
    await root.request('sysctl-persist', { key: instances, value: '1024' })
    for (const fields of [{ key: instances, clear: '1' }, { key: instances, value: '128' }])
      expect((await refusal(user.request('sysctl-persist', fields))).message).toMatch(/max_user_instances in .* was written through Hearth by uid 0/)
    expect(readFileSync(conf, 'utf8')).toContain(`# ${instances}: uid 0\n${instances} = 1024\n`)
    await user.request('sysctl-persist', { key, clear: '1' }) // the user's own key is theirs to clear
    expect(readFileSync(conf, 'utf8')).not.toContain(key)
    await root.request('sysctl-persist', { key: instances, clear: '1' })
    expect(readdirSync(ns.sysctlD)).toEqual([])

    // A user's raise that an administrator raised further since is no longer theirs to lower,
    // by sysctl-set or by off.
    await user.request('sysctl-set', { key, value: '524288' })
    writeFileSync(join(ns.procSys, 'fs/inotify/max_user_watches'), '1000000\n') // the admin, outside Hearth
    expect((await refusal(user.request('sysctl-set', { key, value: '192530' }))).message).toMatch(/raised from 1000000 through Hearth, not lowered/)
    const off = await user.request('off')
    expect(off.items.find((i) => i.kind === 'sysctl')?.fields).toMatchObject({ key, left: '1000000', 'changed-outside': '1' })
    expect(live()).toBe('1000000\n')
    writeFileSync(join(ns.procSys, 'fs/inotify/max_user_watches'), '192530\n')

    // root may lower and remove
    await root.request('sysctl-set', { key, value: '8192' })
    expect(live()).toBe('8192\n')
    await root.request('off')
    expect(live()).toBe('192530\n')
  })
})
