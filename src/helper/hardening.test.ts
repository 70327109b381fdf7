// The helper against what an attacker or an unlucky user would try (issue 8, items 1–9), each
// end to end, as root, inside a private mount namespace (see test/support/helper-harness.ts).
// Any process of the desktop user can write into the helper's pipes, so every case here is
// something a password-less caller could send.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildHelper, ggufBytes, hearthMounts, openNamespace, refusal, sparseGguf, type Namespace } from '../../test/support/helper-harness'
import { HelperClient } from '../main/helper-client'

const MiB = 1024 * 1024
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const nobody = 65534
const alice = 12345
const bob = 23456

let ns: Namespace | null = null
const children: ChildProcess[] = []
beforeAll(() => buildHelper())
/** Kills a holder and everything it started (they inherited its lock). */
const killGroup = (c: ChildProcess) => {
  try {
    process.kill(-c.pid!, 'SIGKILL')
  } catch {
    /* gone already */
  }
}
afterEach(async () => {
  for (const c of children.splice(0)) killGroup(c)
  await ns?.dispose()
  ns = null
})

function gguf(dir: string, name: string, bytes = 64 * 1024, owner = 0): { path: string; hash: string } {
  const path = join(dir, name)
  const data = ggufBytes(bytes)
  writeFileSync(path, data, { mode: 0o644 })
  chownSync(path, owner, owner)
  return { path, hash: sha(data) }
}

/** Runs a command inside the namespace and returns how it ended. */
function inside(n: Namespace, cmd: string, ...args: string[]) {
  return spawnSync('nsenter', ['-t', String(n.pid), '-m', '--', cmd, ...args], { encoding: 'utf8' })
}
const asUser = (uid: number) => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups']

/** Starts `cmd` (a flock holder) and resolves once it printed its first line. */
async function holding(cmd: string[]): Promise<ChildProcess> {
  const c = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  children.push(c)
  await new Promise((ok, fail) => {
    c.stdout!.once('data', ok)
    c.once('exit', (code) => fail(new Error(`${cmd.join(' ')} exited ${code}`)))
  })
  return c
}

const memInfoBytes = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024

describe('item 1: model files only, and no noexec', () => {
  it('stage, lock and residency refuse a shared library, /etc/group and an ELF binary; GGUF and safetensors stage', async () => {
    ns = await openNamespace()
    const lib = join(ns.dir, 'libc.so.6')
    copyFileSync('/lib/x86_64-linux-gnu/libc.so.6', lib)
    const elf = join(ns.dir, 'true')
    copyFileSync('/usr/bin/true', elf)
    const badVersion = join(ns.dir, 'v9.gguf')
    const b = ggufBytes(4096)
    b.writeUInt32LE(9, 4)
    writeFileSync(badVersion, b)
    // A safetensors header that claims more bytes than the file has.
    const shortSt = join(ns.dir, 'short.safetensors')
    const hdr = Buffer.alloc(16)
    hdr.writeBigUInt64LE(1000n)
    hdr.write('{"a":1}', 8)
    writeFileSync(shortSt, hdr)
    const h = ns.helper()
    for (const path of [lib, '/etc/group', elf, badVersion, shortSt]) {
      for (const verb of ['stage', 'lock', 'residency']) {
        const e = await refusal(h.request(verb, { path }))
        expect([path, verb, e.code]).toEqual([path, verb, 'BAD_INPUT'])
        expect(e.message).toMatch(/model files only/)
      }
    }
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)

    const g = gguf(ns.dir, 'm.gguf')
    const json = Buffer.from('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   ')
    const st = Buffer.concat([Buffer.alloc(8), json, Buffer.alloc(8)])
    st.writeBigUInt64LE(BigInt(json.length))
    const stPath = join(ns.dir, 'm.safetensors')
    writeFileSync(stPath, st)
    expect((await h.request('stage', { path: g.path })).fields.bytes).toBe(String(64 * 1024))
    expect((await h.request('stage', { path: stPath })).fields.bytes).toBe(String(st.length))
    expect(sha(readFileSync(ns.inside(g.path)))).toBe(g.hash)
    await h.request('off')
  })

  it('the RAM disk and its binds carry no noexec (a bind carries its flags onto the file); a noexec original stays noexec', async () => {
    ns = await openNamespace()
    const g = gguf(ns.dir, 'm.gguf')
    mkdirSync(join(ns.dir, 'noexec'))
    expect(inside(ns, 'mount', '-t', 'tmpfs', '-o', 'noexec,size=4m', 'models', join(ns.dir, 'noexec')).status).toBe(0)
    const onNoexec = join(ns.dir, 'noexec', 'n.gguf')
    expect(inside(ns, 'sh', '-c', `head -c 65536 ${g.path} > ${onNoexec}`).status).toBe(0)
    const h = ns.helper()
    await h.request('stage', { path: g.path })
    await h.request('stage', { path: onNoexec })
    const lines = hearthMounts(ns.mountinfo())
    const opts = (l: string) => l.split(' ')[5].split(',')
    const ram = lines.find((l) => l.split(' ')[4] === join(ns!.base, 'ram'))!
    const bind = lines.find((l) => l.split(' ')[4] === g.path)!
    const bindNoexec = lines.find((l) => l.split(' ')[4] === onNoexec)!
    expect(opts(ram)).not.toContain('noexec')
    expect(opts(bind)).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']))
    expect(opts(bind)).not.toContain('noexec')
    expect(opts(bindNoexec)).toContain('noexec')
    await h.request('off')
  })
})

describe('item 2: files the caller neither owns nor may write', () => {
  it('the session helper refuses them, naming the owner and the admin helper; the admin helper stages them; own and writable files stage', async () => {
    ns = await openNamespace()
    const foreign = gguf(ns.dir, 'ollama-blob.gguf', 64 * 1024, nobody) // another user's 0644 file
    const rootFile = gguf(ns.dir, 'root.gguf') // root's 0644 file
    const own = gguf(ns.dir, 'own.gguf', 64 * 1024, alice)
    const writable = gguf(ns.dir, 'shared.gguf', 64 * 1024, nobody)
    chmodSync(writable.path, 0o666)
    const h = ns.helper({ uid: alice })
    for (const [path, owner] of [[foreign.path, 'nobody'], [rootFile.path, 'root']]) {
      const e = await refusal(h.request('stage', { path }))
      expect(e.code).toBe('PERMISSION')
      expect(e.message).toMatch(new RegExp(`belongs to ${owner} .*may not write it: staging would freeze it .*administrator's password each time \\(hearth-helper-admin\\)`))
      expect(e.detail).toMatchObject({ foreign: '1', owner })
    }
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    // Locking and reading residency freeze nothing: allowed.
    expect((await h.request('residency', { path: foreign.path })).fields.bytes).toBe(String(64 * 1024))
    await h.request('stage', { path: own.path })
    await h.request('stage', { path: writable.path })

    // The admin helper (its own polkit action, a password every time) stages it, for alice.
    const r = await h.requestAsAdmin('stage', { path: foreign.path })
    expect(r.fields.bytes).toBe(String(64 * 1024))
    expect(sha(readFileSync(ns.inside(foreign.path)))).toBe(foreign.hash)
    const listed = (await h.request('status')).items.filter((i) => i.kind === 'stage').map((i) => i.fields.path)
    expect(listed.sort()).toEqual([foreign.path, own.path, writable.path].sort())
    // It takes one request, a stage, and nothing else.
    expect((await refusal(h.requestAsAdmin('off'))).message).toMatch(/only stages files of other users/)
    await h.request('unstage', { path: foreign.path })
    expect((await h.request('off')).fields.failed).toBe('0')
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
  })
})

describe('item 3: the lock no user can hold, and one final line per request', () => {
  it('a user holding flock on the base’s parent does not stall stage, unstage or off; the lock file is beyond their reach', async () => {
    ns = await openNamespace()
    const g = gguf(ns.dir, 'm.gguf')
    await holding([...asUser(nobody), 'flock', '--shared', ns.dir, '-c', 'echo held; exec sleep 30'])
    const h = ns.helper()
    await h.request('stage', { path: g.path })
    await h.request('unstage', { path: g.path })
    await h.request('stage', { path: g.path })
    expect((await h.request('off')).fields.failed).toBe('0')
    const lockDir = `${ns.base}-lock`
    const st = statSync(lockDir)
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o700])
    expect(existsSync(ns.base)).toBe(false) // the lock outlives the base
    const r = spawnSync(asUser(nobody)[0], [...asUser(nobody).slice(1), 'flock', '--shared', '--nonblock', join(lockDir, 'lock'), 'true'], { encoding: 'utf8' })
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/Permission denied/)
  })

  it('off while another helper holds the journal answers exactly one final line: err BUSY', async () => {
    ns = await openNamespace()
    const g = gguf(ns.dir, 'm.gguf')
    const h = ns.helper()
    await h.request('stage', { path: g.path })
    // Another helper at work: it holds the journal lock (and, for older helpers, the base's parent).
    mkdirSync(`${ns.base}-lock`, { mode: 0o700, recursive: true })
    await holding(['flock', join(`${ns.base}-lock`, 'lock'), '-c', `flock ${ns.dir} -c 'echo held; exec sleep 30'`])
    const lines = await ns.rawLines('5 off\n6 status\n', /^6 (ok|err)/)
    expect(lines.filter((l) => /^5 (ok|err)/.test(l))).toEqual([expect.stringMatching(/^5 err BUSY msg=another%20hearth-helper/)])
    for (const c of children.splice(0)) killGroup(c)
    expect((await h.request('off')).items.map((i) => i.kind)).toEqual(['unstaged'])
  })
})

describe('item 4: ACLs, security labels and extended attributes', () => {
  it('carry onto the copy: the ACL’s user still reads the staged file, the owning group still does not', async () => {
    ns = await openNamespace()
    const g = gguf(ns.dir, 'acl.gguf')
    chmodSync(g.path, 0o600)
    for (const [cmd, ...args] of [
      ['setfacl', '-m', `u:${nobody}:r`, g.path],
      ['setfattr', '-n', 'user.hearth.note', '-v', 'kept', g.path],
      ['setfattr', '-n', 'security.hearth', '-v', 'label', g.path],
      ['setfattr', '-n', 'trusted.hearth', '-v', 'root-only', g.path],
    ]) {
      const r = spawnSync(cmd, args, { encoding: 'utf8' })
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(0)
    }
    const readAs = (uid: number) => inside(ns!, ...(asUser(uid) as [string, ...string[]]), 'cat', g.path).status
    expect([readAs(nobody), readAs(alice)]).toEqual([0, 1]) // before: nobody by the ACL, alice not
    const h = ns.helper()
    await h.request('stage', { path: g.path })
    expect(hearthMounts(ns.mountinfo()).filter((l) => l.includes(' /s'))).toHaveLength(1)
    expect([readAs(nobody), readAs(alice)]).toEqual([0, 1])
    expect(inside(ns, 'getfacl', '-cpn', g.path).stdout).toContain(`user:${nobody}:r--`)
    const attrs = inside(ns, 'getfattr', '-d', '-m', '-', g.path).stdout
    expect(attrs).toContain('user.hearth.note="kept"')
    expect(attrs).toContain('security.hearth="label"')
    expect(attrs).toContain('trusted.hearth="root-only"')
    await h.request('off')
  })
})

describe('item 5: mountinfo lines of any length; a stage is never forgotten', () => {
  it('a stage whose mountinfo line is longer than 12,293 bytes survives a restart and is undone by off', async () => {
    ns = await openNamespace()
    // mountinfo writes a backslash as \134: 15 folders of 250 backslashes make a ~15 KB line.
    let dir = ns.dir
    for (let i = 0; i < 15; i++) mkdirSync((dir = join(dir, '\\'.repeat(250))))
    const g = gguf(dir, 'm.gguf')
    expect(Buffer.byteLength(g.path)).toBeLessThan(4096)
    const line = ns.mountinfo().length
    await ns.helper().request('stage', { path: g.path })
    expect(ns.mountinfo().length - line).toBeGreaterThan(12_293)
    const again = ns.helper() // reconciles at start
    const st = await again.request('status')
    expect(st.fields.stages).toBe('1')
    expect(st.items.find((i) => i.kind === 'stage')?.fields['staged-at']).toBe(g.path)
    expect((await again.request('off')).items.map((i) => i.kind)).toEqual(['unstaged'])
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(sha(readFileSync(ns.inside(g.path)))).toBe(g.hash)
  })

  it('folders renamed to long names after staging: status still lists the stage, off undoes it', async () => {
    ns = await openNamespace()
    const names = Array.from({ length: 14 }, (_, i) => `d${i}`)
    mkdirSync(join(ns.dir, ...names), { recursive: true })
    const g = gguf(join(ns.dir, ...names), 'm.gguf')
    await ns.helper().request('stage', { path: g.path })
    // Rename every folder on the way down to 250 backslashes (allowed: none is a mount point).
    let parent = ns.dir
    for (const n of names) {
      const long = '\\'.repeat(250)
      inside(ns, 'mv', '-T', join(parent, n), join(parent, long))
      parent = join(parent, long)
    }
    const moved = join(parent, 'm.gguf')
    expect(readFileSync(ns.inside(moved)).length).toBe(64 * 1024)
    const again = ns.helper()
    const st = await again.request('status')
    expect(st.items.filter((i) => i.kind === 'stage').map((i) => i.fields['staged-at'])).toEqual([moved])
    expect((await again.request('off')).fields.failed).toBe('0')
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
  })
})

describe('item 5: … nor by a helper in another mount namespace', () => {
  it('a helper in another mount namespace, sharing the base under /run, neither lists nor rolls back this one’s stages', async () => {
    ns = await openNamespace()
    const g = gguf(ns.dir, 'm.gguf')
    await ns.helper().request('stage', { path: g.path })
    // The same base, seen from a second private namespace (as a helper of a sandboxed service
    // would see /run): the bind above is invisible there.
    const [, , , , , ...helperArgs] = ns.helperArgv()
    const other = new HelperClient({ launch: { command: 'unshare', args: ['-m', '--propagation', 'private', ...helperArgs] }, env: { PATH: process.env.PATH } })
    try {
      const st = await other.request('status') // its start reconciled the journal
      expect(st.fields.stages).toBe('0')
      expect((await other.request('off')).items).toEqual([])
    } finally {
      await other.close()
    }
    const here = await ns.helper().request('status')
    expect(here.items.filter((i) => i.kind === 'stage').map((i) => i.fields.path)).toEqual([g.path])
    expect((await ns.helper().request('off')).items.map((i) => i.kind)).toEqual(['unstaged'])
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(existsSync(ns.base)).toBe(false)
  })
})

describe('item 6: every valid path, and an answer with the request’s own id', () => {
  it('stages a 3,700-byte path whose encoded request is over 8 KiB, and answers an overlong line with its id', async () => {
    ns = await openNamespace()
    let dir = ns.dir
    for (let i = 0; i < 15; i++) mkdirSync((dir = join(dir, 'é'.repeat(125)))) // 250 bytes, 750 encoded
    const g = gguf(dir, 'm.gguf')
    expect(Buffer.byteLength(g.path)).toBeGreaterThan(3_700)
    const h = ns.helper()
    expect((await h.request('stage', { path: g.path })).fields.bytes).toBe(String(64 * 1024))
    expect(sha(readFileSync(ns.inside(g.path)))).toBe(g.hash)
    await h.request('off')
    expect(await h.raw(`77 stage path=/${'a'.repeat(20_000)}\n`)).toMatch(/^77 err BAD_INPUT msg=request%20line%20is%20longer%20than%2016384/)
    expect((await h.request('status')).fields.stages).toBe('0')
  })
})

describe('item 7: a journal per caller', () => {
  it('a user sees and undoes only their own stages and sysctl changes; root sees and undoes all', async () => {
    ns = await openNamespace()
    const a = gguf(ns.dir, 'alice.gguf', 64 * 1024, alice)
    const b = gguf(ns.dir, 'bob.gguf', 64 * 1024, bob)
    const ha = ns.helper({ uid: alice })
    const hb = ns.helper({ uid: bob })
    const key = 'fs.inotify.max_user_instances'
    await ha.request('stage', { path: a.path })
    await ha.request('sysctl-set', { key, value: '1024' })
    await hb.request('stage', { path: b.path })
    const staged = async (h: typeof ha) => (await h.request('status')).items.filter((i) => i.kind === 'stage').map((i) => i.fields.path)
    expect(await staged(ha)).toEqual([a.path])
    expect(await staged(hb)).toEqual([b.path])
    expect((await hb.request('status')).items.filter((i) => i.kind === 'sysctl')).toEqual([])
    expect((await refusal(hb.request('unstage', { path: a.path }))).code).toBe('NOT_FOUND')
    expect((await refusal(hb.request('sysctl-set', { key, value: '2048' }))).message).toMatch(/changed through Hearth by uid 12345/)
    const offB = await hb.request('off')
    expect(offB.items.map((i) => [i.kind, i.fields.path])).toEqual([['unstaged', b.path]])
    expect(hearthMounts(ns.mountinfo()).filter((l) => l.includes(' /s'))).toHaveLength(1) // alice's
    expect(readFileSync(join(ns.procSys, 'fs/inotify/max_user_instances'), 'utf8')).toBe('1024\n')
    await hb.request('stage', { path: b.path })
    const root = ns.helper()
    expect((await staged(root)).sort()).toEqual([a.path, b.path].sort())
    const off = await root.request('off')
    expect(off.items.filter((i) => i.kind === 'unstaged')).toHaveLength(2)
    expect(off.items.find((i) => i.kind === 'sysctl')?.fields.restored).toBe('128')
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
    expect(existsSync(ns.base)).toBe(false)
  })
})

describe('item 8: lock and stage within MemAvailable minus a reserve with a floor', () => {
  it('lock is bounded by MemAvailable minus the reserve, whatever share of RAM the client allows', async () => {
    ns = await openNamespace()
    const big = sparseGguf(join(ns.dir, 'big.gguf'), 1024 * MiB)
    const h = ns.helper()
    await h.start()
    const vmLck = () => Number(/^VmLck:\s+(\d+) kB/m.exec(readFileSync(`/proc/${h.helloFields.pid}/status`, 'utf8'))![1])
    // Leave 256 MiB of room: a 1 GiB lock does not fit, though 75% of RAM would allow it.
    const reserve = memInfoBytes('MemAvailable') - 256 * MiB
    const e = await refusal(h.request('lock', { path: big, reserve: String(reserve), 'limit-permille': '750' }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toMatch(/locking .*big\.gguf needs 1\.0 GiB, \d+\.\d GiB available after the .* reserve \(MemAvailable/)
    expect(Number((e.detail as Record<string, string>)['room-bytes'])).toBeLessThan(1024 * MiB)
    expect(vmLck()).toBe(0)
  })

  it('a reserve below the helper’s floor is raised to it (one budget for stage and lock)', async () => {
    ns = await openNamespace()
    // Bigger than MemAvailable minus the floor, smaller than MemAvailable: only the floor refuses
    // it. Should MemAvailable jump meanwhile, the RAM disk is sized 64 MiB, so nothing fills RAM.
    const avail = memInfoBytes('MemAvailable')
    const floor = Math.max(512 * MiB, Math.floor(memInfoBytes('MemTotal') / 32))
    const size = avail - Math.floor(floor / 4)
    const h = ns.helper({ extraArgs: ['--test-tmpfs-short', String(size - 64 * MiB)] })
    expect(Number((await h.request('status')).fields['reserve-floor-bytes'])).toBe(floor)
    const f = sparseGguf(join(ns.dir, 'f.gguf'), size)
    const e = await refusal(h.request('stage', { path: f, reserve: '0' }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toMatch(/the helper always keeps at least/)
    expect(Number((e.detail as Record<string, string>)['reserve-bytes'])).toBe(floor)
    expect(existsSync(ns.base)).toBe(false)
  })
})

describe('item 9: at most 1,024 stages, none forgotten', () => {
  it('the 1,025th stage is refused with the reason; status and off see all 1,024', async () => {
    ns = await openNamespace()
    const h = ns.helper()
    const files = Array.from({ length: 1025 }, (_, i) => gguf(ns!.dir, `f${i}.gguf`, 4096).path)
    for (const path of files.slice(0, 1024)) await h.request('stage', { path })
    const e = await refusal(h.request('stage', { path: files[1024] }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toMatch(/1024 files are staged, the most the helper keeps at once/)
    const st = await h.request('status')
    expect(st.fields.stages).toBe('1024')
    const copies = st.items.filter((i) => i.kind === 'stage').map((i) => i.fields.copy)
    expect(new Set(copies).size).toBe(1024)
    const off = await h.request('off')
    expect([off.fields.failed, off.items.filter((i) => i.kind === 'unstaged').length]).toEqual(['0', 1024])
    expect(hearthMounts(ns.mountinfo())).toHaveLength(0)
  }, 240_000)
})

describe('admin one-shot', () => {
  it('refuses anything but one stage request, before touching anything', async () => {
    ns = await openNamespace()
    const [cmd, ...args] = ns.helperArgv(['--test-once', '1 sysctl-set key=fs.inotify.max_user_instances value=8192'])
    const r = spawnSync(cmd, args, { encoding: 'utf8', input: '' })
    expect(r.status).toBe(1)
    expect(r.stdout).toMatch(/^1 err BAD_INPUT msg=the%20admin%20helper%20only%20stages/)
    expect(readFileSync(join(ns.procSys, 'fs/inotify/max_user_instances'), 'utf8')).toBe('128\n')
  })
})
