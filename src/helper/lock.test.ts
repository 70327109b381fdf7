// The helper's lock, unlock and residency verbs on real files, as root: the lock shows in the
// helper's own VmLck (the kernel's count of what that process has mlock'd), unlock and off
// give it back, and residency agrees with fincore.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { HearthError } from '../shared/api'
import type { HelperClient } from '../main/helper-client'
import { buildHelper, ggufBytes, openNamespace, refusal, sparseGguf, type Namespace } from '../../test/support/helper-harness'

const MiB = 1024 * 1024

function makeFile(dir: string, name: string, bytes: number): string {
  const path = join(dir, name)
  writeFileSync(path, ggufBytes(bytes), { mode: 0o644 })
  execFileSync('sync', [path]) // dirty pages would survive the evict
  evict(path)
  return path
}
const evict = (path: string) => execFileSync('dd', ['of=/dev/null', 'iflag=nocache', 'count=0', `if=${path}`, 'status=none'])
const fincoreBytes = (path: string) => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]).toString().trim())

/** What the helper process has mlock'd, in bytes, from its /proc status. */
async function vmLckBytes(h: HelperClient): Promise<number> {
  if (!h.helloFields.pid) await h.start()
  const status = readFileSync(`/proc/${h.helloFields.pid}/status`, 'utf8')
  return Number(/^VmLck:\s+(\d+) kB/m.exec(status)![1]) * 1024
}

let ns: Namespace | null = null
beforeAll(() => buildHelper())
afterEach(async () => {
  await ns?.dispose()
  ns = null
})

describe('lock and unlock', () => {
  it('locks a real file in the helper (VmLck grows, status lists it); unlock and off give it back', async () => {
    ns = await openNamespace()
    const a = makeFile(ns.dir, 'a.gguf', 3 * MiB + 100) // not a whole number of pages
    const b = makeFile(ns.dir, 'b.gguf', 2 * MiB)
    const h = ns.helper()
    expect(await vmLckBytes(h)).toBe(0)

    const r = await h.request('lock', { path: a })
    expect(r.fields.bytes).toBe(String(3 * MiB + 100))
    expect(await vmLckBytes(h)).toBe(3 * MiB + 4096) // whole pages
    expect(fincoreBytes(a)).toBe(3 * MiB + 4096) // mlock faulted every page in
    const listed = (await h.request('status')).items.filter((i) => i.kind === 'lock')
    expect(listed.map((i) => i.fields)).toEqual([{ path: a, bytes: String(3 * MiB + 100) }])
    // Locked pages stay: an evict of the file leaves them in the cache.
    evict(a)
    expect(fincoreBytes(a)).toBe(3 * MiB + 4096)
    expect((await h.request('lock', { path: a })).fields.already).toBe('1')
    expect(await vmLckBytes(h)).toBe(3 * MiB + 4096)

    expect((await h.request('unlock', { path: a })).fields['locked-bytes']).toBe('0')
    expect(await vmLckBytes(h)).toBe(0)
    expect((await h.request('status')).items.filter((i) => i.kind === 'lock')).toEqual([])
    evict(a)
    expect(fincoreBytes(a)).toBe(0) // nothing holds it any more
    expect((await refusal(h.request('unlock', { path: a }))).code).toBe('NOT_FOUND')

    await h.request('lock', { path: a })
    await h.request('lock', { path: b })
    expect(await vmLckBytes(h)).toBe(5 * MiB + 4096)
    expect((await h.request('off')).fields.unlocked).toBe('2')
    expect(await vmLckBytes(h)).toBe(0)
  })

  it('refuses more than its share of RAM before reading anything', async () => {
    ns = await openNamespace()
    const memTotalBytes = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024
    // Sparse: 2% of RAM in size, nothing on disk; the 1% cap refuses it from its size alone.
    const big = sparseGguf(join(ns.dir, 'big.gguf'), Math.ceil(memTotalBytes / 50))
    const h = ns.helper()
    const e = await refusal(h.request('lock', { path: big, 'limit-permille': '10' }))
    expect(e.code).toBe('TOO_LARGE')
    expect(e.message).toMatch(/lock limit \(1% of RAM\)/)
    expect(await vmLckBytes(h)).toBe(0)
    expect(fincoreBytes(big)).toBe(0)
  })

  it('a lock ends when the helper exits', async () => {
    ns = await openNamespace()
    const a = makeFile(ns.dir, 'a.gguf', 2 * MiB)
    const h = ns.helper()
    await h.request('lock', { path: a })
    expect(fincoreBytes(a)).toBe(2 * MiB)
    let resets = 0
    h.onReset(() => resets++)
    await h.close()
    expect(resets).toBe(1) // the client tells its users that what the helper held is gone
    evict(a)
    expect(fincoreBytes(a)).toBe(0)
  })
})

describe('residency', () => {
  it('answers a readable file’s whole-file residency as fincore sees it, at a bounded rate', async () => {
    ns = await openNamespace()
    const a = makeFile(ns.dir, 'a.gguf', 8 * MiB)
    const h = ns.helper({ uid: 65534 }) // acts for nobody, who may read the 0644 file
    expect((await h.request('residency', { path: a })).fields).toMatchObject({ bytes: String(8 * MiB), 'resident-bytes': '0' })
    execFileSync('dd', [`if=${a}`, 'of=/dev/null', 'bs=1M', 'count=3', 'iflag=direct', 'status=none']) // direct: bypasses the cache
    execFileSync('dd', [`if=${a}`, 'of=/dev/null', 'bs=1M', 'count=1', 'skip=4', 'status=none'])
    const resident = Number((await h.request('residency', { path: a })).fields['resident-bytes'])
    expect(resident).toBe(fincoreBytes(a))
    expect(resident).toBeGreaterThanOrEqual(MiB)
    evict(a)
    // Bucket of 20, refilled at 10/s: a burst of 40 cannot all be answered.
    const answers = await Promise.all(Array.from({ length: 40 }, () => h.request('residency', { path: a }).then(() => 'ok', (e: HearthError) => e.code)))
    expect(answers.filter((x) => x === 'BUSY').length).toBeGreaterThan(0)
    expect(answers.filter((x) => x !== 'ok' && x !== 'BUSY')).toEqual([])
  })
})
