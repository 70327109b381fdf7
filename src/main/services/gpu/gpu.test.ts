// GPU telemetry: parsers on recorded output, DRM readers on a sysfs-shaped tree, attribution on a
// real process, and the plain "no GPU" answer on whatever this machine has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs'
import { spawn, type ChildProcess } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAppsCsv, parseGpuCsv, parseUuidCsv } from './nvidia-smi'
import { parseDrmFdinfo, readDrmCards } from './drm'
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
    expect(parseDrmFdinfo(fx('fdinfo-amdgpu.txt'))).toEqual({ driver: 'amdgpu', pdev: '0000:03:00.0', clientId: '41', vramBytes: 3932160 * 1024 })
    expect(parseDrmFdinfo(fx('fdinfo-i915.txt'))?.vramBytes).toBe(524288 * 1024)
    expect(parseDrmFdinfo(fx('fdinfo-xe.txt'))?.vramBytes).toBe(1048576 * 1024)
    expect(parseDrmFdinfo(fx('fdinfo-plain-file.txt'))).toBeNull()
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
