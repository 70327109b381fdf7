// The whole Doctor on trees that are not this machine's: broken and missing /proc, /sys and /etc
// files must give "unknown" with the reason (never a crash, never a made-up number); a network
// share holding a model, with and without fsc, on recorded mountinfo and FS-Cache files; LM
// Studio's and Ollama's settings as they lie on disk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Catalog, Finding, Model, Settings } from '../../../shared/api'
import { createHub } from '../../hub'
import { createJobRunner } from '../jobs'
import { createDoctorService } from '.'
import { createInputs, type DoctorRoots } from './inputs'
import { createBandwidthStore } from './bandwidth'
import { createResidencyHistory } from './residency-history'
import { sharesCheck } from './check-shares'
import { runtimeSettingsCheck } from './check-runtime-settings'
import { processesCheck } from './check-processes'
import { tempDir } from '../../../../test/support/files'
import type { SettingsStore } from '../../settings'

const fixtures = join(__dirname, '../../../../test/fixtures/doctor')
const fx = (p: string) => readFileSync(join(fixtures, p), 'utf8')
let tmp: ReturnType<typeof tempDir>
let model: Model

function memorySettings(): SettingsStore {
  let s: Settings = { folders: [], pins: [], keepWarmThreshold: 0.95, lockMaxFraction: 0.5, stagingReserveBytes: 0 }
  return { file: '', get: () => s, update: async (p) => (s = { ...s, ...p }) }
}

function service(roots: Partial<DoctorRoots>, models: Model[], env: Record<string, string> = {}) {
  const catalog: Catalog = { models, skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }
  const hub = createHub()
  return createDoctorService({
    hub,
    env: { HOME: join(tmp.dir, 'home'), ...env },
    settings: memorySettings(),
    catalog: { current: () => catalog, resolve: async () => models.flatMap((m) => m.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: m.id }))) },
    residency: { ofModels: async () => models.map((m) => ({ modelId: m.id, bytes: m.bytes, residentBytes: 0, unknownBytes: 0, files: m.files.map((f) => ({ path: f.path, bytes: f.bytes, residentBytes: 0 })) })) },
    jobs: createJobRunner({ hub }),
    privilege: () => ({ available: false, mode: 'none', helperPath: null, reason: 'no helper in this test' }),
    inotifyStatus: async () => {
      throw new Error('not in this test')
    },
    roots,
  })
}

beforeAll(() => {
  tmp = tempDir('hearth-doctor-fx-')
  const dir = join(tmp.dir, 'models')
  mkdirSync(dir)
  const path = join(dir, 'm.gguf')
  writeFileSync(path, Buffer.alloc(1 << 20))
  model = { id: 'folder:m', name: 'M', source: 'folder', format: 'gguf', root: dir, bytes: 1 << 20, files: [{ path, bytes: 1 << 20, role: 'weights' }] }
})
afterAll(() => tmp.cleanup())

const byCheck = (fs: Finding[], check: string) => fs.filter((f) => f.check === check)
const noNaN = (fs: Finding[]) => fs.flatMap((f) => f.evidence).filter((e) => /NaN|undefined/.test(e.value) || (e.amount !== undefined && !Number.isFinite(e.amount) && e.amount !== Infinity))

describe('broken and missing /proc, /sys and /etc files', () => {
  it('malformed files: every check answers, with "unknown" and the reason where it could not read', async () => {
    const r = await service({ proc: join(fixtures, 'broken/proc'), sys: join(fixtures, 'broken/sys'), etc: join(fixtures, 'broken/etc') }, [model]).run()
    for (const check of ['processes', 'cgroups', 'pressure', 'inotify', 'limits', 'storage', 'shares']) expect(byCheck(r.findings, check).length, check).toBeGreaterThan(0)
    const f = (id: string) => r.findings.find((x) => x.id === id)
    expect(f('pressure:psi')?.unknown).toMatch(/pressure\/memory is malformed/)
    expect(f('pressure:refaults')?.unknown).toMatch(/vmstat has no workingset_refault_file/)
    expect(f('limits:memlock')?.unknown).toMatch(/self\/limits is malformed/)
    expect(f('limits:swap')?.unknown).toMatch(/meminfo has no MemTotal line/)
    expect(f('limits:huge-pages')?.unknown).toMatch(/enabled is malformed/)
    expect(f('inotify:instances')?.unknown).toMatch(/max_user_instances is malformed \("lots"\)/)
    expect(f('inotify:watches')?.unknown).toMatch(/max_user_watches does not exist/)
    expect(f('cgroups:unknown')?.unknown).toMatch(/self\/mountinfo has no well-formed line \(2 malformed\)/)
    expect(f('shares:unknown')?.unknown).toMatch(/mountinfo/)
    expect(f('storage:unknown')?.unknown).toMatch(/mountinfo/)
    // A runtime whose /proc/PID/fd is not a directory is listed as not inspectable, with why.
    const p = f('processes:denied:llama.cpp:4242')
    expect(p?.unknown).toMatch(/4242\/fd: ENOTDIR/)
    expect(p?.evidence.find((e) => e.label === 'user id')?.unknown).toMatch(/4242\/status is malformed/)
    expect(r.findings.filter((x) => x.id.endsWith(':error'))).toEqual([]) // no check threw
    expect(noNaN(r.findings)).toEqual([])
  }, 30_000)

  it('missing files (an empty root): "does not exist" reasons, no crash', async () => {
    const empty = join(tmp.dir, 'empty')
    mkdirSync(empty, { recursive: true })
    const r = await service({ proc: empty, sys: empty, etc: empty }, [model]).run()
    const f = (id: string) => r.findings.find((x) => x.id === id)
    expect(f('pressure:psi')?.unknown).toMatch(/pressure\/memory is missing: the kernel was built without PSI/)
    expect(f('limits:swap')?.unknown).toMatch(/meminfo does not exist/)
    expect(f('inotify:instances')?.unknown).toMatch(/max_user_instances does not exist/)
    expect(f('cgroups:unknown')?.unknown).toMatch(/mountinfo does not exist/)
    expect(r.findings.filter((x) => x.id.endsWith(':error'))).toEqual([])
    expect(noNaN(r.findings)).toEqual([])
  }, 30_000)
})

describe('a model on a network share (recorded mountinfo and FS-Cache files)', () => {
  function shareTree(fsc: boolean) {
    const root = join(tmp.dir, fsc ? 'share-fsc' : 'share')
    const proc = join(root, 'proc')
    mkdirSync(join(proc, 'self'), { recursive: true })
    mkdirSync(join(proc, 'fs/netfs'), { recursive: true })
    mkdirSync(join(proc, 'fs/fscache'), { recursive: true })
    mkdirSync(join(proc, '777/fd'), { recursive: true })
    const nfsLine = fx('mountinfo/k8s-nfs4').replace(' /kaiwudb/certs ', ' /mnt/nas ')
    writeFileSync(join(proc, 'self/mountinfo'), fsc ? nfsLine.replace('local_lock=none,', 'local_lock=none,fsc,') : nfsLine)
    writeFileSync(join(proc, 'fs/netfs/stats'), fx('fscache/v6.16-cifs-netfs.stats'))
    if (fsc) {
      writeFileSync(join(proc, 'fs/fscache/caches'), fx('fscache/caches'))
      writeFileSync(join(proc, '777/comm'), 'cachefilesd\n')
      writeFileSync(join(proc, '777/maps'), '')
    }
    const etc = join(root, 'etc')
    mkdirSync(etc, { recursive: true })
    writeFileSync(join(etc, 'os-release'), 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n')
    writeFileSync(join(etc, 'fstab'), '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=abc / ext4 errors=remount-ro 0 1\n20.20.20.43:/data/k8s/nfs_share/pvc-2108ee90-b185-43f7-a95c-21d9a4d84a67 /mnt/nas nfs4 _netdev,vers=4.1 0 0\n')
    const cacheDir = join(root, 'fscache')
    mkdirSync(cacheDir, { recursive: true })
    writeFileSync(join(etc, 'cachefilesd.conf'), fx('fscache/cachefilesd.conf').replace('dir /var/cache/fscache', `dir ${cacheDir}`))
    return { proc, sys: join(root, 'sys'), etc }
  }
  function inputsOn(roots: DoctorRoots, ring = [] as { atMs: number; hits: number; misses: number; hitRate: number | null }[]) {
    const base = createInputs({
      roots,
      env: { HOME: join(tmp.dir, 'home'), PATH: '/nonexistent' },
      selfPid: process.pid,
      models: [model],
      residency: async () => [],
      bandwidth: createBandwidthStore(memorySettings()),
      history: createResidencyHistory(),
      memoryHistory: () => [],
      helperAvailable: () => false,
      helperReason: () => 'none',
      inotifyStatus: async () => {
        throw new Error('unused')
      },
      hitRateRing: () => ring,
    })
    // The model file is local; say it lives on the recorded NFS mount, as it would on a client.
    const place = { key: 'mount:nfs4:20.20.20.43:/data/k8s/nfs_share/pvc-2108ee90-b185-43f7-a95c-21d9a4d84a67', name: 'nas', kind: 'network' as const, fstype: 'nfs4', mountPoint: '/mnt/nas', rotational: null, chain: [] }
    return { ...base, places: async () => new Map([[model.files[0].path, place]]) }
  }

  it('without fsc: a warning with the guide for this mount (install, RUN=yes, the fstab line with fsc, remount) and a prewarm action', async () => {
    const findings = await sharesCheck.run(inputsOn(shareTree(false)))
    const w = findings.find((f) => f.id === 'shares:fscache:/mnt/nas')!
    expect(w.status).toBe('warn')
    expect(w.title).toMatch(/mounted without fsc/)
    expect(w.evidence.find((e) => e.label === 'fsc in mount options')?.value).toBe('no')
    expect(w.fix?.steps?.map((s) => s.command)).toEqual([
      'sudo apt-get install -y cachefilesd',
      "sudo sed -i 's/^#\\?RUN=.*/RUN=yes/' /etc/default/cachefilesd",
      'sudo systemctl enable --now cachefilesd',
      '20.20.20.43:/data/k8s/nfs_share/pvc-2108ee90-b185-43f7-a95c-21d9a4d84a67 /mnt/nas nfs4 _netdev,vers=4.1,fsc 0 0',
      "sudo umount '/mnt/nas' && sudo mount '/mnt/nas'",
    ])
    const pre = findings.find((f) => f.id === 'shares:prewarm:/mnt/nas')!
    expect(pre.fix?.action).toEqual({ kind: 'warm', targets: [model.id] })
  }, 30_000)

  it('with fsc, cachefilesd running and an active cache: ok, with the hit rate over the sampled interval', async () => {
    const roots = shareTree(true)
    const ring = [{ atMs: Date.now() - 20_000, hits: 0, misses: 0, hitRate: null }, { atMs: Date.now() - 10_000, hits: 19, misses: 0, hitRate: 1 }]
    const findings = await sharesCheck.run(inputsOn(roots, ring))
    const ok = findings.find((f) => f.id === 'shares:fscache:/mnt/nas')!
    expect(ok.status).toBe('ok')
    expect(ok.evidence.find((e) => /hit rate/.test(e.label))?.value).toBe('100% (19 from the cache, 0 from the server)')
    expect(ok.evidence.find((e) => e.label === 'bound caches')?.value).toBe('default (active)')
    expect(ok.evidence.find((e) => e.label === 'cache directory')?.value).toMatch(/brun 10%, bcull 7%, bstop 3%/)
  }, 30_000)

  it('an O_DIRECT reader of a model on the share is told it bypasses FS-Cache', async () => {
    const base = inputsOn(shareTree(true))
    const reader = { pid: 9, comm: 'llama-server', argv: [], runtime: { kind: 'llama.cpp' as const, label: 'llama-server' }, files: [{ modelId: model.id, path: model.files[0].path, via: 'fd' as const, fd: 5, flags: 0o2140000, direct: true }], status: { ok: false as const, reason: '' }, limits: { ok: false as const, reason: '' } }
    const findings = await sharesCheck.run({ ...base, processes: async () => [reader] })
    const d = findings.find((f) => f.id === 'shares:direct:/mnt/nas')!
    expect(d.title).toMatch(/llama-server \(pid 9\) reads models on \/mnt\/nas with O_DIRECT: that bypasses FS-Cache/)
    expect(d.fix?.action).toEqual({ kind: 'stage', targets: [model.id] })
  }, 30_000)
})

describe('runtime settings from disk', () => {
  it("LM Studio: a model whose saved load settings turn mmap off and ask to keep it in memory", async () => {
    const home = join(tmp.dir, 'lm-home')
    const rel = 'lmstudio-community/Tiny-GGUF/tiny-Q4_K_M.gguf'
    const file = join(home, '.lmstudio/models', rel)
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, Buffer.alloc(4096))
    const conf = join(home, '.lmstudio/.internal/user-concrete-model-default-config', `${rel}.json`)
    mkdirSync(join(conf, '..'), { recursive: true })
    cpSync(join(fixtures, 'lmstudio/load-config.json'), conf)
    const lm: Model = { id: 'lmstudio:tiny', name: 'Tiny', source: 'lmstudio', format: 'gguf', root: join(home, '.lmstudio/models'), bytes: 4096, files: [{ path: file, bytes: 4096, role: 'weights' }] }
    const inputs = createInputs({ roots: { proc: '/proc', sys: '/sys', etc: join(tmp.dir, 'no-etc') }, env: { HOME: home }, selfPid: process.pid, models: [lm], residency: async () => [], bandwidth: createBandwidthStore(memorySettings()), history: createResidencyHistory(), memoryHistory: () => [], helperAvailable: () => false, helperReason: () => undefined, inotifyStatus: async () => { throw new Error('unused') }, hitRateRing: () => [] })
    const findings = await runtimeSettingsCheck.run({ ...inputs, processes: async () => [] })
    const mmap = findings.find((f) => f.id === 'runtime-settings:lmstudio:lmstudio:tiny:mmap-off')!
    expect(mmap.status).toBe('warn')
    expect(mmap.evidence.find((e) => e.label === 'llm.load.llama.tryMmap')).toMatchObject({ value: 'false', source: conf })
    expect(mmap.fix?.command).toContain(`'${conf}'`)
    expect(findings.find((f) => f.id === 'runtime-settings:lmstudio:lmstudio:tiny:keep-in-memory')).toBeDefined()
  })

  it('Ollama: the unit and drop-in on disk cap the service below its largest model', async () => {
    const etc = join(tmp.dir, 'ollama-etc')
    mkdirSync(join(etc, 'systemd/system/ollama.service.d'), { recursive: true })
    writeFileSync(join(etc, 'systemd/system/ollama.service'), '[Unit]\nDescription=Ollama Service\n[Service]\nExecStart=/usr/local/bin/ollama serve\nUser=ollama\nEnvironment="PATH=/usr/bin"\n')
    writeFileSync(join(etc, 'systemd/system/ollama.service.d/override.conf'), '[Service]\nMemoryMax=512K\nEnvironment="OLLAMA_KEEP_ALIVE=0"\n')
    const ol: Model = { ...model, id: 'ollama:m', source: 'ollama' }
    const inputs = createInputs({ roots: { proc: '/proc', sys: '/sys', etc }, env: { HOME: join(tmp.dir, 'home') }, selfPid: process.pid, models: [ol], residency: async () => [], bandwidth: createBandwidthStore(memorySettings()), history: createResidencyHistory(), memoryHistory: () => [], helperAvailable: () => false, helperReason: () => undefined, inotifyStatus: async () => { throw new Error('unused') }, hitRateRing: () => [] })
    const findings = await runtimeSettingsCheck.run({ ...inputs, processes: async () => [] })
    const max = findings.find((f) => f.id === 'runtime-settings:ollama:memory-max')!
    expect(max.status).toBe('fail')
    expect(max.evidence.find((e) => e.label === 'MemoryMax')).toMatchObject({ amount: 512 * 1024 })
    expect(max.modelIds).toEqual(['ollama:m'])
    const keep = findings.find((f) => f.id === 'runtime-settings:ollama:settings')!
    expect(keep.status).toBe('warn')
    expect(keep.title).toMatch(/OLLAMA_KEEP_ALIVE=0/)
  })
})

describe('a staged model', () => {
  it('O_DIRECT reads of the RAM-disk copy are fine; a reader still on the original inode is told to restart', async () => {
    const base = createInputs({ roots: { proc: '/proc', sys: '/sys', etc: '/etc' }, env: { HOME: join(tmp.dir, 'home') }, selfPid: process.pid, models: [model], residency: async () => [{ modelId: model.id, bytes: model.bytes, residentBytes: model.bytes, unknownBytes: 0, files: [{ path: model.files[0].path, bytes: model.bytes, residentBytes: model.bytes, staged: true }] }], bandwidth: createBandwidthStore(memorySettings()), history: createResidencyHistory(), memoryHistory: () => [], helperAvailable: () => true, helperReason: () => undefined, inotifyStatus: async () => { throw new Error('unused') }, hitRateRing: () => [] })
    const proc = (pid: number, staleInode: boolean) => ({ pid, comm: 'llama-server', argv: ['llama-server'], runtime: { kind: 'llama.cpp' as const, label: 'llama-server' }, files: [{ modelId: model.id, path: model.files[0].path, via: 'fd' as const, fd: 7, flags: 0o2140000, direct: true, staleInode }], status: { ok: false as const, reason: 'gone' }, limits: { ok: false as const, reason: 'gone' } })
    const findings = await processesCheck.run({ ...base, processes: async () => [proc(11, false), proc(12, true)] })
    expect(findings.find((f) => f.id.endsWith(':11'))).toMatchObject({ status: 'ok', title: 'llama-server (pid 11) reads M with O_DIRECT from the RAM disk' })
    const stale = findings.find((f) => f.id.endsWith(':12:stale'))!
    expect(stale.status).toBe('warn')
    expect(stale.fix?.command).toBe('kill 12   # then start it again')
  })
})
