// GPU telemetry: parsers on recorded output, DRM readers on a sysfs-shaped tree, attribution on a
// real process, and the plain "no GPU" answer on whatever this machine has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, openSync, closeSync, symlinkSync } from 'node:fs'
import { spawn, type ChildProcess } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAppsCsv, parseGpuCsv, parseUuidCsv } from './nvidia-smi'
import { parseDrmFdinfo, readDrm, readDrmCards, readDrmClients } from './drm'
import { loadNvml, nvmlUnavailableReason } from './nvml'
import { attributeProcess, indexFiles } from './attribution'
import { createGpuService } from './index'
import { createHub } from '../../hub'

const fx = (n: string) => readFileSync(join(__dirname, 'fixtures', n), 'utf8')
const MiB = 2 ** 20

describe('nvidia-smi parsers', () => {
  it('reads the H100 line recorded on a real machine', () => {
    const [g] = parseGpuCsv(fx('nvidia-smi-gpu-idle.csv'))
    expect(g).toMatchObject({ id: 'nvidia:0', name: 'NVIDIA H100 80GB HBM3', totalBytes: 81559 * MiB, usedBytes: 0, freeBytes: 81079 * MiB, utilizationPercent: 0 })
  })
  it('reads compute apps and maps them to a GPU by uuid', () => {
    const apps = parseAppsCsv(fx('nvidia-smi-apps.csv'))
    expect(apps.map((a) => [a.pid, a.usedBytes])).toEqual([[4881, 2812 * MiB], [4917, 5366 * MiB]])
    expect(parseUuidCsv(fx('nvidia-smi-uuid.csv')).get(apps[0].gpuUuid)).toBe(0)
    expect(parseAppsCsv('')).toEqual([]) // what nvidia-smi prints with no process on the GPU
  })
  it('turns [N/A] into null instead of NaN', () => {
    const [g] = parseGpuCsv('1, NVIDIA GeForce RTX 4050 Laptop GPU, 6141, 512, 5629, [N/A]\n')
    expect(g.utilizationPercent).toBeNull()
    expect(g.totalBytes).toBe(6141 * MiB)
  })
})

describe('DRM fdinfo and sysfs', () => {
  it('reads device memory per client from amdgpu, i915 and xe fdinfo', () => {
    expect(parseDrmFdinfo(fx('fdinfo-amdgpu.txt'))).toEqual({ driver: 'amdgpu', pdev: '0000:03:00.0', clientId: '41', vramBytes: 3932160 * 1024, gttBytes: 21504 * 1024 })
    expect(parseDrmFdinfo(fx('fdinfo-i915.txt'))?.vramBytes).toBe(524288 * 1024)
    expect(parseDrmFdinfo(fx('fdinfo-xe.txt'))).toMatchObject({ vramBytes: 1048576 * 1024, gttBytes: 8192 * 1024 })
    expect(parseDrmFdinfo(fx('fdinfo-plain-file.txt'))).toBeNull()
  })

  it("today's amdgpu format (total, resident and the drm-memory alias of each region) counts every region once", () => {
    // drm-total-vram, drm-resident-vram and drm-memory-vram all say 155068 KiB: one buffer set, not three.
    expect(parseDrmFdinfo(fx('fdinfo-amdgpu-current.txt'))).toEqual({ driver: 'amdgpu', pdev: '0000:04:00.0', clientId: '30', vramBytes: 155068 * 1024, gttBytes: 20 * MiB })
  })

  it('an APU holds its model in GTT: reported apart from its few MiB of VRAM carve-out', () => {
    expect(parseDrmFdinfo(fx('fdinfo-amdgpu-apu.txt'))).toMatchObject({ vramBytes: 5348 * 1024, gttBytes: 25258000 * 1024 })
  })

  it('what is resident counts, not what was asked for: VRAM evicted to GTT under pressure leaves it', () => {
    const evicted = fx('fdinfo-amdgpu-current.txt')
      .replace('drm-resident-vram:\t155068 KiB', 'drm-resident-vram:\t100 MiB')
      .replace('drm-memory-vram:\t155068 KiB', 'drm-memory-vram:\t102400 KiB')
    expect(parseDrmFdinfo(evicted)?.vramBytes).toBe(100 * MiB)
    // Older amdgpu and other drivers without drm-resident-*: the legacy key, then total.
    expect(parseDrmFdinfo('drm-driver:\txe\ndrm-total-vram0:\t64 MiB\n')?.vramBytes).toBe(64 * MiB)
  })

  it('malformed sizes are skipped, not read as NaN', () => {
    const c = parseDrmFdinfo('drm-driver:\tamdgpu\ndrm-resident-vram:\tlots\ndrm-total-vram:\t2 MiB\ndrm-resident-gtt:\t-5 KiB\n')
    expect(c).toMatchObject({ vramBytes: 2 * MiB, gttBytes: 0 })
  })

  let sys: string
  beforeAll(() => {
    sys = mkdtempSync(join(tmpdir(), 'hearth-drm-'))
    const card = (name: string, files: Record<string, string>) => {
      mkdirSync(join(sys, name, 'device'), { recursive: true })
      for (const [k, v] of Object.entries(files)) writeFileSync(join(sys, name, 'device', k), v + '\n')
    }
    card('card1', { vendor: '0x1002', uevent: 'DRIVER=amdgpu\nPCI_CLASS=30000\nPCI_SLOT_NAME=0000:03:00.0', mem_info_vram_total: '25753026560', mem_info_vram_used: '4412928000', gpu_busy_percent: '12', product_name: 'Radeon RX 7900 XTX' })
    card('card0', { vendor: '0x8086', uevent: 'DRIVER=i915\nPCI_SLOT_NAME=0000:00:02.0' })
    mkdirSync(join(sys, 'card1-DP-1'))
  })
  afterAll(() => rmSync(sys, { recursive: true, force: true }))

  it('lists AMD cards with VRAM totals and Intel cards without', async () => {
    const cards = await readDrmCards(sys)
    expect(cards.map((c) => c.card)).toEqual(['card0', 'card1'])
    const amd = cards[1].device
    expect(amd).toMatchObject({ vendor: 'amd', name: 'Radeon RX 7900 XTX', totalBytes: 25753026560, usedBytes: 4412928000, freeBytes: 25753026560 - 4412928000, utilizationPercent: 12 })
    expect(cards[0].device).toMatchObject({ vendor: 'intel', totalBytes: null })
  })
})

describe('DRM process attribution (readDrmClients, readDrm) on a /proc and sysfs of real fdinfo formats', () => {
  let root: string
  const sysDrm = () => join(root, 'sys')
  const proc = () => join(root, 'proc')
  /** A process with fds: each is [fd, link target, fdinfo text]. */
  const withProcess = (pid: number, comm: string, fds: Array<[number, string, string]>) => {
    const d = join(proc(), String(pid))
    mkdirSync(join(d, 'fd'), { recursive: true })
    mkdirSync(join(d, 'fdinfo'))
    writeFileSync(join(d, 'comm'), `${comm}\n`)
    for (const [fd, target, info] of fds) {
      symlinkSync(target, join(d, 'fd', String(fd)))
      writeFileSync(join(d, 'fdinfo', String(fd)), info)
    }
  }
  const card = (name: string, files: Record<string, string>) => {
    mkdirSync(join(sysDrm(), name, 'device'), { recursive: true })
    for (const [k, v] of Object.entries(files)) writeFileSync(join(sysDrm(), name, 'device', k), v + '\n')
  }
  const amd = fx('fdinfo-amdgpu-current.txt')
  const apu = fx('fdinfo-amdgpu-apu.txt')
  const i915 = fx('fdinfo-i915.txt').replace('0000:03:00.0', '0000:00:02.0')

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hearth-drm-proc-'))
    card('card0', { vendor: '0x8086', uevent: 'DRIVER=i915\nPCI_SLOT_NAME=0000:00:02.0' })
    card('card1', { vendor: '0x1002', uevent: 'DRIVER=amdgpu\nPCI_SLOT_NAME=0000:04:00.0', mem_info_vram_total: String(16 * 2 ** 30), mem_info_vram_used: String(2 * 2 ** 30) })
    // An APU: a 512 MiB carve-out, and GTT (system RAM) that holds the model
    card('card2', { vendor: '0x1002', uevent: 'DRIVER=amdgpu\nPCI_SLOT_NAME=0000:c4:00.0', mem_info_vram_total: String(512 * MiB), mem_info_vram_used: String(300 * MiB), mem_info_gtt_total: String(48 * 2 ** 30), mem_info_gtt_used: String(25 * 2 ** 30) })
    // llama-server on the discrete card: the render node twice (dup) and the card node, all one client
    withProcess(4100, 'llama-server', [
      [5, '/dev/dri/renderD128', amd],
      [6, '/dev/dri/renderD128', amd],
      [7, '/dev/dri/card1', amd],
      [3, '/models/qwen.gguf', fx('fdinfo-plain-file.txt')],
    ])
    // its forked child inherited the same fd: the same client, not a second one
    withProcess(4101, 'llama-server', [[5, '/dev/dri/renderD128', amd]])
    // Ollama's runner on the APU
    withProcess(5200, 'ollama_llama_se', [[9, '/dev/dri/renderD129', apu]])
    // a compositor on the Intel card
    withProcess(900, 'gnome-shell', [[12, '/dev/dri/card0', i915]])
    // a process with no DRM fds at all
    withProcess(1, 'systemd', [[0, '/dev/null', fx('fdinfo-plain-file.txt')]])
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('readDrmClients: one entry per client, for the lowest pid that holds it', async () => {
    const clients = await readDrmClients(proc())
    expect(clients.map((c) => [c.pid, c.comm, c.driver, c.clientId]).sort()).toEqual(
      [
        [4100, 'llama-server', 'amdgpu', '30'],
        [5200, 'ollama_llama_se', 'amdgpu', '112'],
        [900, 'gnome-shell', 'i915', '7'],
      ].sort(),
    )
  })

  it('readDrm: each card lists its processes with VRAM once and GTT apart; the APU shows its GTT', async () => {
    const gpus = await readDrm(sysDrm(), proc())
    const by = Object.fromEntries(gpus.map((g) => [g.id, g]))
    expect(by['amd:card1'].processes).toEqual([{ pid: 4100, name: 'llama-server', usedBytes: 155068 * 1024, gttBytes: 20 * MiB }])
    expect(by['amd:card2'].processes).toEqual([{ pid: 5200, name: 'ollama_llama_se', usedBytes: 5348 * 1024, gttBytes: 25258000 * 1024 }])
    expect(by['amd:card2']).toMatchObject({ totalBytes: 512 * MiB, gttTotalBytes: 48 * 2 ** 30, gttUsedBytes: 25 * 2 ** 30 })
    expect(by['amd:card1'].gttTotalBytes).toBeUndefined()
    expect(by['intel:card0'].processes).toEqual([{ pid: 900, name: 'gnome-shell', usedBytes: 524288 * 1024 }])
  })

  it('an fd without drm-client-id (older kernels) counts on its own; an unreadable /proc gives no clients, not a crash', async () => {
    const noId = amd.replace(/^drm-client-id:.*\n/m, '')
    withProcess(6000, 'old-kernel-app', [
      [4, '/dev/dri/renderD128', noId],
      [8, '/dev/dri/renderD128', noId],
    ])
    const clients = (await readDrmClients(proc())).filter((c) => c.pid === 6000)
    expect(clients).toHaveLength(2)
    rmSync(join(proc(), '6000'), { recursive: true })
    expect(await readDrmClients(join(root, 'no-such-proc'))).toEqual([])
  })
})

describe('NVML', () => {
  it('loads where libnvidia-ml.so.1 exists, and says why not elsewhere', () => {
    const nvml = loadNvml()
    if (nvml) {
      const d = nvml.device(0)
      expect(d.totalBytes).toBeGreaterThan(0)
      expect(d.name.length).toBeGreaterThan(0)
    } else {
      expect(nvmlUnavailableReason()).toMatch(/libnvidia-ml\.so\.1 not loadable/)
    }
  })
})

describe('attribution and the service', () => {
  let dir: string
  let child: ChildProcess
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-attr-'))
    writeFileSync(join(dir, 'Qwen2.5-7B-Q4_K_M.gguf'), Buffer.alloc(4096))
    // A real process holding the model file open (as fd 0), like a loader that reads it.
    const fd = openSync(join(dir, 'Qwen2.5-7B-Q4_K_M.gguf'), 'r')
    child = spawn('sleep', ['30'], { stdio: [fd, 'ignore', 'ignore'] })
    closeSync(fd) // only the child holds it now
  })
  afterAll(() => {
    child.kill()
    rmSync(dir, { recursive: true, force: true })
  })

  it('names the model file a process holds, by dev+ino', async () => {
    const path = join(dir, 'Qwen2.5-7B-Q4_K_M.gguf')
    const known = await indexFiles([{ path, modelId: 'folder:qwen7b' }])
    expect(await attributeProcess(child.pid!, known)).toEqual({ modelPath: path, modelId: 'folder:qwen7b' })
    expect(await attributeProcess(process.pid, known)).toEqual({})
  })

  it('reports GPUs from the sources, with processes attributed, and "no GPU" plainly', async () => {
    const hub = createHub()
    const svc = createGpuService({
      hub,
      sources: {
        nvml: () => null,
        nvidiaSmi: async () => [{ ...parseGpuCsv(fx('nvidia-smi-gpu-busy.csv'))[0], processes: [{ pid: child.pid!, name: 'llama-server', usedBytes: 5366 * MiB }] }],
        drm: async () => [],
      },
    })
    const s = await svc.now()
    expect(s.source).toBe('nvidia-smi')
    expect(s.gpus[0].processes[0].modelPath).toBe(join(dir, 'Qwen2.5-7B-Q4_K_M.gguf'))
    const none = await createGpuService({ hub, sources: { nvml: () => null, nvidiaSmi: async () => null, drm: async () => [] } }).now()
    expect(none).toMatchObject({ source: 'none', gpus: [] })
    expect(none.noGpuReason).toMatch(/^No GPU found: .*planner still works/)
  })

  it('on this machine: real sources give GPUs or a plain reason', async () => {
    const s = await createGpuService({ hub: createHub() }).now()
    if (s.gpus.length) for (const g of s.gpus) expect(g.name.length).toBeGreaterThan(0)
    else expect(s.noGpuReason).toMatch(/No GPU found/)
  })
})
