// The Doctor's parsers on samples recorded from real systems (test/fixtures/doctor/README.md says
// where each came from): FS-Cache/netfs stats in every kernel's labels, the caches list,
// cachefilesd.conf, mountinfo with NFS, cgroup v2 files; and the pure logic around them.
import { describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cacheCounters, cacheStateName, hitRateBetween, parseCachefilesdConf, parseCaches, parseStatsPairs } from './fscache'
import { hasOption, isNetworkFs, mountOf, parseMountinfo } from './mountinfo'
import { memoryCgroup, parseLimitValue } from './cgroup'
import { parseProcCgroup, parseFdinfo, parseLimits, parseStatus, makedev, parseMapsLine } from '../procs'
import { classifyProcess, parseLlamaArgs } from './runtimes'
import { keepAliveSeconds, parseSystemdSize, parseUnitFiles, parseEnvironmentLine } from './ollama'
import { parseLmStudioConfig, loadConfigOf } from './lmstudio'
import { parsePsi } from './check-pressure'
import { createResidencyHistory } from './residency-history'
import { median } from './bandwidth'
import { estimateLoad, describeLoad } from '../../../shared/doctor/load-time'
import { tempDir } from '../../../../test/support/files'
import { blockChain } from './storage-map'

const fx = (p: string) => readFileSync(join(__dirname, '../../../../test/fixtures/doctor', p), 'utf8')

describe('FS-Cache and netfs stats, by every label the kernel used', () => {
  it('≤5.16 (Retrvls ok/nod): the AFS re-read between two recorded samples hit the cache 19 of 19 times', () => {
    const before = cacheCounters(parseStatsPairs(fx('fscache/v5.10-afs-before.stats')))!
    const after = cacheCounters(parseStatsPairs(fx('fscache/v5.10-afs-after.stats')))!
    expect(before).toEqual({ hits: 0, misses: 19, labels: 'Retrvls.ok/Retrvls.nod' })
    expect(after).toEqual({ hits: 19, misses: 19, labels: 'Retrvls.ok/Retrvls.nod' })
    expect(hitRateBetween(before, after)).toEqual({ hits: 19, misses: 0, hitRate: 1 })
    // The second "Retrvls:" line (ops=) must not shadow the first one's counters.
    expect(parseStatsPairs(fx('fscache/v5.10-afs-after.stats')).get('Retrvls.ops')).toBe(38)
  })
  it('5.17-rc (RdHelp RD/DL): four downloads, no cache reads', () => {
    const p = parseStatsPairs(fx('fscache/v5.17-rc-rdhelp.stats'))
    expect(cacheCounters(p)).toEqual({ hits: 0, misses: 4, labels: 'RdHelp.RD/RdHelp.DL' })
    expect(p.get('IO.wr')).toBe(4)
  })
  it('6.13 and 6.16 /proc/fs/netfs/stats (CaRdOps RD / DownOps DL)', () => {
    expect(cacheCounters(parseStatsPairs(fx('fscache/v6.13-9p-netfs.stats')))).toEqual({ hits: 0, misses: 15189, labels: 'CaRdOps.RD/DownOps.DL' })
    const p = parseStatsPairs(fx('fscache/v6.16-cifs-netfs.stats'))
    expect(cacheCounters(p)).toEqual({ hits: 0, misses: 8492, labels: 'CaRdOps.RD/DownOps.DL' })
    expect(p.get('Writes.2C')).toBe(0)
    expect(p.get('IO.mis')).toBe(0)
  })
  it('a reset or a file without the counters gives no rate rather than a wrong one', () => {
    expect(hitRateBetween({ hits: 10, misses: 10, labels: '' }, { hits: 5, misses: 10, labels: '' })).toBeNull()
    expect(hitRateBetween({ hits: 1, misses: 1, labels: '' }, { hits: 1, misses: 1, labels: '' })).toEqual({ hits: 0, misses: 0, hitRate: null })
    expect(cacheCounters(parseStatsPairs('Cookies: n=3\nIO     : rd=1 wr=2\n'))).toBeNull()
    expect(cacheCounters(parseStatsPairs('garbage\n\0\0'))).toBeNull()
  })
  it('/proc/fs/fscache/caches: the documented active cache', () => {
    expect(parseCaches(fx('fscache/caches'))).toEqual([{ id: '00000001', name: 'default', state: 'A', objects: 2123 }])
    expect(cacheStateName('A')).toBe('active')
    expect(cacheStateName('W')).toBe('withdrawn')
    expect(parseCaches('bogus')).toBeNull()
  })
  it("cachefilesd.conf: the shipped file's limits, defaults for missing ones, refusals named", () => {
    expect(parseCachefilesdConf(fx('fscache/cachefilesd.conf'))).toEqual({ dir: '/var/cache/fscache', tag: 'mycache', brun: 10, bcull: 7, bstop: 3, frun: 10, fcull: 7, fstop: 3, notes: [] })
    expect(parseCachefilesdConf('dir /c\n')).toMatchObject({ brun: 7, bcull: 5, bstop: 1, notes: [] })
    expect(parseCachefilesdConf('dir /c\nbrun 5%\nbcull 7%\n')!.notes[0]).toMatch(/bstop < bcull < brun/)
    expect(parseCachefilesdConf('dir /c\nbrun ten%\n')!.notes[0]).toMatch(/brun "ten%" is not a percentage/)
    expect(parseCachefilesdConf('brun 10%\n')).toBeNull()
  })
})

describe('mountinfo', () => {
  it('reads the recorded NFSv4 volume, its options, and finds fsc only where it is', () => {
    const { mounts, malformed } = parseMountinfo(fx('mountinfo/k8s-nfs4') + 'garbage line\n')
    expect(malformed).toBe(1)
    const nfs = mounts.find((m) => m.fstype === 'nfs4')!
    expect(nfs).toMatchObject({ mountPoint: '/kaiwudb/certs', source: '20.20.20.43:/data/k8s/nfs_share/pvc-2108ee90-b185-43f7-a95c-21d9a4d84a67', majMin: '0:212' })
    expect(isNetworkFs(nfs.fstype)).toBe(true)
    expect(hasOption(nfs.superOptions, 'fsc')).toBe(false)
    expect(hasOption(nfs.superOptions, 'vers')).toBe(true)
    const withFsc = parseMountinfo(fx('mountinfo/k8s-nfs4').replace('local_lock=none,', 'local_lock=none,fsc,')).mounts.find((m) => m.fstype === 'nfs4')!
    expect(hasOption(withFsc.superOptions, 'fsc')).toBe(true)
    expect(mountOf(mounts, makedev(0, 212), '/kaiwudb/certs/model.gguf')).toBe(nfs)
  })
  it('unescapes octal escapes in mount points', () => {
    const { mounts } = parseMountinfo('40 1 8:1 / /mnt/My\\040Models rw - ext4 /dev/sda1 rw\n')
    expect(mounts[0].mountPoint).toBe('/mnt/My Models')
  })
})

describe('cgroup v2 on recorded files', () => {
  it("reads a podman container's limit, memory.high and memory.stat through the recorded mountinfo and /proc/self/cgroup", async () => {
    const t = tempDir('hearth-cg2-')
    try {
      const path = parseProcCgroup(fx('cgroup-v2/proc-cgroup'))!
      expect(path.unified).toBe('/machine.slice/libpod-f1c6b44c0d61f273952b8daecf154cee1be2d503b7e9184ebf7fcaf48e139810.scope')
      const group = join(t.dir, path.unified!)
      mkdirSync(group, { recursive: true })
      writeFileSync(join(t.dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n')
      writeFileSync(join(t.dir, 'machine.slice', 'memory.max'), '17179869184\n') // the slice caps at 16 GiB
      writeFileSync(join(group, 'memory.max'), 'max\n')
      writeFileSync(join(group, 'memory.high'), '8589934592\n')
      writeFileSync(join(group, 'memory.stat'), fx('cgroup-v2/memory.stat'))
      const mounts = parseMountinfo(fx('cgroup-v2/mountinfo-podman').replace(' /sys/fs/cgroup ', ` ${t.dir} `)).mounts
      const r = await memoryCgroup(path, mounts)
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.value).toMatchObject({ version: 2, limitBytes: 17179869184, limitFile: join(t.dir, 'machine.slice', 'memory.max'), highBytes: 8589934592, anonBytes: 6121017344, fileBytes: 26672709632 })
      // A malformed memory.max of the group itself is "unknown" with the reason.
      writeFileSync(join(group, 'memory.max'), 'lots\n')
      const bad = await memoryCgroup(path, mounts)
      expect(bad).toMatchObject({ ok: false })
      expect(!bad.ok && bad.reason).toMatch(/memory\.max is malformed \("lots"\)/)
    } finally {
      t.cleanup()
    }
  })
  it('limit values: max and v1 unlimited are null, garbage is undefined', () => {
    expect(parseLimitValue('max\n')).toBeNull()
    expect(parseLimitValue('9223372036854771712\n')).toBeNull()
    expect(parseLimitValue('67108864\n')).toBe(64 << 20)
    expect(parseLimitValue('-1')).toBeUndefined()
  })
})

describe('/proc/PID parsers', () => {
  it('fdinfo: octal flags (O_DIRECT 040000) and inotify watch lines', () => {
    expect(parseFdinfo('pos:\t0\nflags:\t02140000\nmnt_id:\t28\nino:\t12\n')!.flags & 0o40000).toBe(0o40000)
    expect(parseFdinfo('pos:\t0\nflags:\t02100000\n')!.flags & 0o40000).toBe(0)
    expect(parseFdinfo('pos:\t0\nflags:\t02000000\nmnt_id:\t15\ninotify wd:2 ino:1 sdev:8 mask:100 ignored_mask:0\ninotify wd:1 ino:2 sdev:8 mask:100 ignored_mask:0\n')!.inotifyWatches).toBe(2)
    expect(parseFdinfo('pos:\t0\nflags:\t0x8000\n')).toBeNull()
  })
  it('status, limits and cgroup files: malformed gives null, not a wrong number', () => {
    expect(parseStatus('Name:\tx\nUid:\t1000\t1000\t1000\t1000\nRssAnon:\t  2048 kB\nVmLck:\t0 kB\n')).toMatchObject({ uid: 1000, rssAnonBytes: 2 << 20, vmLckBytes: 0, rssFileBytes: null })
    expect(parseStatus('Name:\tx\nUid:\tnot numbers\n')).toBeNull()
    expect(parseLimits('nonsense\n')).toBeNull()
    expect(parseLimits('Max locked memory         8388608              unlimited            bytes\n')!.get('Max locked memory')).toEqual({ soft: 8388608, hard: null, units: 'bytes' })
    expect(parseProcCgroup('garbage\n')).toBeNull()
    expect(parseProcCgroup('4:memory:/process_api/x\n0::/\n')).toEqual({ unified: '/', v1: new Map([['memory', '/process_api/x']]) })
  })
  it('maps lines: file mappings by device + inode, anonymous ones skipped', () => {
    expect(parseMapsLine('7f0000000000-7f0010000000 r--s 00000000 fe:00 1234   /m/a b.gguf')).toEqual({ start: 0x7f0000000000, end: 0x7f0010000000, dev: makedev(0xfe, 0), ino: 1234, path: '/m/a b.gguf' })
    expect(parseMapsLine('7f0000000000-7f0010000000 rw-p 00000000 00:00 0 ')).toBeNull()
  })
})

describe('runtimes', () => {
  it('classifies loaders by name and command line', () => {
    expect(classifyProcess('llama-server', ['/opt/llama/llama-server', '-m', 'x.gguf'])?.kind).toBe('llama.cpp')
    expect(classifyProcess('ollama', ['/usr/local/bin/ollama', 'runner', '--model', '/b/sha256-x'])).toEqual({ kind: 'ollama', label: 'Ollama runner' })
    expect(classifyProcess('ollama', ['/usr/local/bin/ollama', 'serve'])).toEqual({ kind: 'ollama', label: 'Ollama server' })
    expect(classifyProcess('python3', ['python3', '-m', 'vllm.entrypoints.openai.api_server'])?.kind).toBe('vllm')
    expect(classifyProcess('VLLM::EngineCor', ['VLLM::EngineCore'])?.kind).toBe('vllm')
    expect(classifyProcess('koboldcpp', ['./koboldcpp-linux-x64', '--model', 'x.gguf'])?.kind).toBe('koboldcpp')
    expect(classifyProcess('python', ['python', 'server.py', '--model-dir', '/home/u/text-generation-webui/models'])?.kind).toBe('textgen')
    expect(classifyProcess('lm-studio', ['/tmp/.mount_LM-StuAbc/lm-studio'])?.kind).toBe('lmstudio')
    expect(classifyProcess('node', ['/home/u/.lmstudio/extensions/backends/llama.cpp/llmworker.js'])?.kind).toBe('lmstudio')
    expect(classifyProcess('python3', ['python3', 'load.py'])).toEqual({ kind: 'python', label: 'Python (load.py)' })
    expect(classifyProcess('bash', ['bash'])).toBeNull()
  })
  it("reads llama.cpp's loading flags in both spellings", () => {
    expect(parseLlamaArgs(['llama-server', '-m', '/m.gguf', '--no-mmap', '--mlock'])).toMatchObject({ model: '/m.gguf', noMmap: true, mlock: true, directIo: null })
    expect(parseLlamaArgs(['llama-server', '--model=/m.gguf', '-dio'])).toMatchObject({ model: '/m.gguf', directIo: true })
    expect(parseLlamaArgs(['llama-cli', '--load-mode', 'dio'])).toMatchObject({ directIo: true, noMmap: true, loadMode: 'dio' })
    expect(parseLlamaArgs(['llama-cli', '-lm', 'mmap'])).toMatchObject({ directIo: false, noMmap: false })
    expect(parseLlamaArgs(['llama-cli', '-ndio'])).toMatchObject({ directIo: false, flags: ['-ndio'] })
  })
})

describe('runtime settings on disk', () => {
  it("LM Studio's per-model load config: mmap off and keep-in-memory, wrapped values unwrapped", () => {
    const fields = parseLmStudioConfig(fx('lmstudio/load-config.json'))!
    expect(fields.get('llm.load.llama.kCacheQuantizationType')).toBe('q8_0')
    expect(loadConfigOf('/f.json', 'pub/repo/m.gguf', fields)).toMatchObject({ tryMmap: false, keepModelInMemory: true, directIo: null })
    expect(parseLmStudioConfig('\uFEFF{"load":{"fields":[]}}')).toEqual(new Map())
    expect(parseLmStudioConfig('{"operation":{}}')).toBeNull()
    expect(parseLmStudioConfig('{ not json')).toBeNull()
  })
  it('Ollama: unit files with drop-ins, systemd sizes, keep-alive durations', () => {
    const keys = parseUnitFiles(['[Unit]\nDescription=Ollama\n[Service]\nExecStart=/usr/bin/ollama serve\nEnvironment="PATH=/usr/bin"\nMemoryMax=8G\n', '[Service]\nEnvironment="OLLAMA_MODELS=/data/ollama" OLLAMA_KEEP_ALIVE=0\nMemoryMax=\nMemoryHigh=12G\n'])
    expect(keys.get('MemoryMax')).toBeUndefined() // reset by the drop-in's empty assignment
    expect(parseSystemdSize(keys.get('MemoryHigh')![0], null)).toBe(12 * 2 ** 30)
    const env = new Map<string, string>()
    for (const e of keys.get('Environment')!) parseEnvironmentLine(e, env)
    expect(env.get('OLLAMA_MODELS')).toBe('/data/ollama')
    expect(env.get('OLLAMA_KEEP_ALIVE')).toBe('0')
    expect(parseSystemdSize('infinity', null)).toBeNull()
    expect(parseSystemdSize('50%', 8 * 2 ** 30)).toBe(4 * 2 ** 30)
    expect(parseSystemdSize('lots', null)).toBeUndefined()
    expect(keepAliveSeconds('5m')).toBe(300)
    expect(keepAliveSeconds('1h30m')).toBe(5400)
    expect(keepAliveSeconds('-1')).toBe(Infinity)
    expect(keepAliveSeconds('soon')).toBeUndefined()
  })
})

describe('pressure and history', () => {
  it('PSI: both lines, or null when malformed', () => {
    expect(parsePsi('some avg10=1.50 avg60=0.20 avg300=0.05 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n')).toEqual({
      some: { avg10: 1.5, avg60: 0.2, avg300: 0.05, totalUs: 123 },
      full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 7 },
    })
    expect(parsePsi('some avg10=nope\n')).toBeNull()
  })
  it("counts drops the kernel made, not those of Hearth's own evict jobs, within the hour", () => {
    let t = 1_000_000
    const h = createResidencyHistory({ now: () => t, slackMs: 1000 })
    const G = 2 ** 30
    h.record('m', { atMs: t, bytes: 4 * G, residentBytes: 4 * G })
    h.record('m', { atMs: (t += 60_000), bytes: 4 * G, residentBytes: 3 * G }) // the kernel took 1 GiB
    h.noteHearthEviction('m', t + 30_000, t + 31_000)
    h.record('m', { atMs: (t += 32_000), bytes: 4 * G, residentBytes: G }) // Hearth's evict took 2 GiB
    h.record('m', { atMs: (t += 60_000), bytes: 4 * G, residentBytes: 4 * G }) // warmed again
    h.record('m', { atMs: (t += 60_000), bytes: 4 * G, residentBytes: 3.5 * G }) // the kernel again
    expect(h.evictedSince('m')).toMatchObject({ evictedBytes: 1.5 * G, drops: 2, byHearthBytes: 2 * G })
    t += 3_600_000 // an hour later the old drops are out of the window
    h.record('m', { atMs: t, bytes: 4 * G, residentBytes: 3.5 * G })
    expect(h.evictedSince('m').evictedBytes).toBe(0)
    expect(h.evictedSince('other')).toMatchObject({ evictedBytes: 0, drops: 0 })
  })
  it('keeps a bounded number of points per model', () => {
    const h = createResidencyHistory({ maxPointsPerModel: 10, now: () => 1e9 })
    for (let i = 0; i < 100; i++) h.record('m', { atMs: 1e9 - 1000 + i, bytes: 100, residentBytes: i % 2 ? 100 : 50 })
    expect(h.points('m')).toHaveLength(10)
  })
})

describe('load-time estimates', () => {
  const dev = (key: string, bytesPerSec: number | null, kind: 'disk' | 'ram' = 'disk') => ({ key, name: key.slice(5), kind, fstype: 'ext4', mountPoint: '/', rotational: false, chain: [], bytesPerSec, samples: [] })
  it('cold = bytes / bandwidth; now = non-resident bytes / bandwidth, per device', () => {
    const devices = new Map([['disk:sda', dev('disk:sda', 200e6)], ['disk:nvme0n1', dev('disk:nvme0n1', 2e9)]])
    const files = [
      { path: '/a', bytes: 4e9, device: 'disk:sda' },
      { path: '/b', bytes: 2e9, device: 'disk:nvme0n1' },
    ]
    const residency = { modelId: 'm', bytes: 6e9, residentBytes: 3e9, unknownBytes: 0, files: [{ path: '/a', bytes: 4e9, residentBytes: 2e9 }, { path: '/b', bytes: 2e9, residentBytes: 1e9 }] }
    const e = estimateLoad(files, residency, devices)
    expect(e.coldSeconds).toBeCloseTo(4e9 / 200e6 + 2e9 / 2e9)
    expect(e.nowSeconds).toBeCloseTo(2e9 / 200e6 + 1e9 / 2e9)
    expect(describeLoad(e)).toBe('cold ≈ 21 s from sda + nvme0n1, now ≈ 11 s')
  })
  it('unknown residency counts as to read; a staged file costs nothing; no bandwidth says so', () => {
    const devices = new Map([['disk:sda', dev('disk:sda', 100e6)], ['disk:sdb', dev('disk:sdb', null)]])
    const e = estimateLoad([{ path: '/a', bytes: 1e9, device: 'disk:sda' }], { modelId: 'm', bytes: 1e9, residentBytes: 0, unknownBytes: 1e9, files: [{ path: '/a', bytes: 1e9, residentBytes: null }] }, devices)
    expect(e.nowSeconds).toBeCloseTo(10)
    expect(e.unknownBytes).toBe(1e9)
    const staged = estimateLoad([{ path: '/a', bytes: 1e9, device: 'disk:sda' }], { modelId: 'm', bytes: 1e9, residentBytes: 1e9, unknownBytes: 0, files: [{ path: '/a', bytes: 1e9, residentBytes: 1e9, staged: true }] }, devices)
    expect(staged.coldSeconds).toBe(0)
    const none = estimateLoad([{ path: '/b', bytes: 1e9, device: 'disk:sdb' }], undefined, devices)
    expect(none.coldSeconds).toBeNull()
    expect(describeLoad(none)).toMatch(/no read bandwidth measured yet for sdb/)
    expect(median([3, 1, 2])).toBe(2)
    expect(median([])).toBeNull()
  })
})

describe('block devices through dm, md and partitions (a /sys tree laid out as the kernel does)', () => {
  it('follows dm-0 → md0 → two partitions → their disks, and says it spins when one disk does', async () => {
    const t = tempDir('hearth-sys-')
    try {
      const sys = t.dir
      const dev = (rel: string) => mkdirSync(join(sys, rel), { recursive: true })
      const link = (target: string, at: string) => {
        mkdirSync(join(sys, at, '..'), { recursive: true })
        symlinkSync(join(sys, target), join(sys, at))
      }
      dev('devices/virtual/block/dm-0/slaves')
      dev('devices/virtual/block/md0/slaves')
      for (const [disk, rot] of [['sda', '1'], ['sdb', '0']]) {
        dev(`devices/pci0000:00/block/${disk}/${disk}1`)
        writeFileSync(join(sys, `devices/pci0000:00/block/${disk}/${disk}1/partition`), '1\n')
        link(`devices/pci0000:00/block/${disk}`, `block/${disk}`)
        mkdirSync(join(sys, `devices/pci0000:00/block/${disk}/queue`))
        writeFileSync(join(sys, `devices/pci0000:00/block/${disk}/queue/rotational`), `${rot}\n`)
        link(`devices/pci0000:00/block/${disk}/${disk}1`, `class/block/${disk}1`)
        link(`devices/pci0000:00/block/${disk}/${disk}1`, `devices/virtual/block/md0/slaves/${disk}1`)
      }
      link('devices/virtual/block/md0', 'class/block/md0')
      link('devices/virtual/block/md0', 'devices/virtual/block/dm-0/slaves/md0')
      link('devices/virtual/block/dm-0', 'dev/block/253:0')
      link('devices/pci0000:00/block/sdb/sdb1', 'dev/block/8:17')
      expect(await blockChain('253:0', sys)).toEqual({ top: 'dm-0', chain: ['dm-0', 'md0', 'sda1', 'sda', 'sdb1', 'sdb'], disks: ['sda', 'sdb'], rotational: true, model: null })
      // A partition: its disk is the device; an SSD alone is not rotational.
      expect(await blockChain('8:17', sys)).toMatchObject({ top: 'sdb', chain: ['sdb1', 'sdb'], disks: ['sdb'], rotational: false })
      await expect(blockChain('9:9', sys)).rejects.toThrow(/ENOENT/)
    } finally {
      t.cleanup()
    }
  })
})
