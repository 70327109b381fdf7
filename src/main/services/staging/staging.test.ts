// The staging service over a real helper in a private mount namespace: jobs, capacity numbers,
// the off preview naming holders, and the 'staging' topic.
import { createHash } from 'node:crypto'
import { chownSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog, Job, StagingState } from '../../../shared/api'
import { buildHelper, ggufBytes, openNamespace, type Namespace } from '../../../../test/support/helper-harness'
import { HelperClient } from '../../helper-client'
import type { CatalogService } from '../../context'
import { createHub } from '../../hub'
import { defaultSettings, type SettingsStore } from '../../settings'
import { createJobRunner } from '../jobs'
import { holdersOf } from './holders'
import { inotifyStatusOf } from './inotify'
import { createStagingService } from '.'

const MiB = 1024 * 1024
let ns: Namespace | null = null
beforeAll(() => buildHelper())
afterEach(async () => {
  await ns?.dispose()
  ns = null
})

function fileCatalog(): CatalogService {
  const empty: Catalog = { models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }
  return {
    current: () => empty,
    scan: async () => empty,
    resolve: async (targets) => targets.map((path) => ({ path, bytes: readFileSync(path).length })),
    start: async () => {},
    stop: () => {},
  }
}

function settingsWith(reserveBytes: number): SettingsStore {
  return { get: () => ({ ...defaultSettings, stagingReserveBytes: reserveBytes }) } as unknown as SettingsStore
}

async function setup(reserveBytes = 256 * MiB, helper?: (n: Namespace) => HelperClient) {
  ns = await openNamespace()
  const hub = createHub()
  const jobs = createJobRunner({ hub, publishIntervalMs: 10 })
  const staging = createStagingService({ hub, settings: settingsWith(reserveBytes), catalog: fileCatalog(), jobs, helper: helper ? helper(ns) : ns.helper() })
  return { hub, jobs, staging }
}

describe('staging service', () => {
  it('stages as a job with progress, lists it, previews off with holders, and undoes it', async () => {
    const { hub, jobs, staging } = await setup()
    const data = ggufBytes(20 * MiB)
    const path = join(ns!.dir, 'model.gguf')
    writeFileSync(path, data)
    const states: StagingState[] = []
    const ticks: Job[] = []
    hub.subscribe('staging', (s) => states.push(s))
    hub.subscribe('jobs', (j) => ticks.push(j))
    const job = await staging.stage([path])
    expect(job.kind).toBe('stage')
    const done = await jobs.wait(job.id)
    expect(done.status).toBe('done')
    expect(done.doneBytes).toBe(20 * MiB)
    expect(ticks.some((t) => t.status === 'running')).toBe(true)
    const st = await staging.status()
    expect(st.staged.map((s) => s.path)).toEqual([path])
    expect(st.tmpfsUsedBytes).toBeGreaterThanOrEqual(20 * MiB)
    expect(states.at(-1)?.staged).toHaveLength(1)
    expect(createHash('sha1').update(readFileSync(ns!.inside(path))).digest('hex')).toBe(createHash('sha1').update(data).digest('hex'))

    const holder = ns!.spawnInside('sh', ['-c', `exec 3<${path}; echo ready; exec sleep 60`])
    await new Promise((ok) => holder.stdout!.once('data', ok))
    const preview = await staging.offPreview()
    expect(preview.nothingToUndo).toBe(false)
    expect(preview.holders.map((h) => h.command)).toContain('sleep')

    const un = await jobs.wait((await staging.unstage([path])).id)
    expect(un.status).toBe('failed')
    expect(un.error?.code).toBe('BUSY')
    expect(un.error?.message).toMatch(/sleep/)

    const off = await staging.off()
    expect(off.lazy.map((l) => l.path)).toEqual([path])
    holder.kill('SIGKILL')
    expect((await staging.status()).staged).toHaveLength(0)
    expect((await staging.offPreview()).nothingToUndo).toBe(true)
  })

  it('refuses a model larger than RAM minus the reserve, with numbers', async () => {
    const { staging } = await setup(2 ** 50)
    const path = join(ns!.dir, 'm.gguf')
    writeFileSync(path, ggufBytes(MiB))
    await expect(staging.stage([path])).rejects.toThrow(/needs 1\.00 MiB, 0 B available after the 1\.00 PiB reserve/)
  })

  it('stages a file of another user through the admin helper and says so in the job', async () => {
    const { jobs, staging } = await setup(256 * MiB, (n) => n.helper({ uid: 12345 }))
    const path = join(ns!.dir, 'ollama-blob.gguf')
    const data = ggufBytes(2 * MiB)
    writeFileSync(path, data, { mode: 0o644 })
    chownSync(path, 65534, 65534)
    const done = await jobs.wait((await staging.stage([path])).id)
    expect(done.status).toBe('done')
    expect(done.note).toMatch(/1 file of another user, with an administrator's password/)
    expect((await staging.status()).staged.map((s) => s.path)).toEqual([path])
    expect((await staging.off()).unstaged).toEqual([path])
  })

  it('refuses a file of another user where the admin helper is unavailable, saying why and what to do', async () => {
    const { jobs, staging } = await setup(256 * MiB, (n) => {
      const [command, ...args] = n.helperArgv()
      return new HelperClient({ launch: { command, args }, uid: 12345, env: { PATH: process.env.PATH } }) // no admin helper
    })
    const path = join(ns!.dir, 'root-owned.gguf')
    writeFileSync(path, ggufBytes(MiB), { mode: 0o644 })
    const failed = await jobs.wait((await staging.stage([path])).id)
    expect(failed.status).toBe('failed')
    expect(failed.error?.code).toBe('PERMISSION')
    expect(failed.error?.message).toMatch(/belongs to root .*staging would freeze it.*That is not possible here: no admin helper is set up.*Or stage a copy you own/)
    expect((await staging.status()).staged).toEqual([])
  })
})

describe('holders and inotify (unprivileged reads)', () => {
  it('finds this process when it maps or opens a file, by dev+ino', async () => {
    const path = join(ns ? ns.dir : '/tmp', `hearth-holders-${process.pid}`)
    writeFileSync(path, 'x')
    const { open } = await import('node:fs/promises')
    const fh = await open(path)
    const { statSync, rmSync } = await import('node:fs')
    const st = statSync(path)
    const found = await holdersOf([{ dev: st.dev, ino: st.ino, path }], -1)
    expect(found.map((h) => h.pid)).toContain(process.pid)
    await fh.close()
    expect((await holdersOf([{ dev: st.dev, ino: st.ino, path }], -1)).map((h) => h.pid)).not.toContain(process.pid)
    rmSync(path)
  })

  it('reads both inotify limits against the advice', async () => {
    const s = await inotifyStatusOf(new Map(), '/nonexistent/60-hearth-inotify.conf')
    expect(s.instances.key).toBe('fs.inotify.max_user_instances')
    expect(s.instances.value).toBe(Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8')))
    expect(s.watches.recommended).toBe(524288)
    expect(s.watches.persisted).toBeNull()
  })
})
