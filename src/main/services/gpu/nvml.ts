// NVML through koffi (libnvidia-ml.so.1 ships with the NVIDIA driver). Loaded once; null when the
// library or the driver is absent, so the caller falls back to nvidia-smi or says "no GPU".
import { koffi } from '../../sys/libc'
import type { GpuDevice } from '../../../shared/api'

interface Nvml {
  count(): number
  device(i: number): GpuDevice
}

let cached: Nvml | null | undefined
let whyNot = ''

/** Why NVML is not in use (for the "no GPU" message), '' when it is. */
export function nvmlUnavailableReason(): string {
  return whyNot
}

export function loadNvml(libName = 'libnvidia-ml.so.1'): Nvml | null {
  if (cached !== undefined) return cached
  try {
    cached = bind(koffi.load(libName))
  } catch (err) {
    whyNot = `${libName} not loadable (${(err as Error).message.split('\n')[0]})`
    cached = null
  }
  return cached
}

function bind(lib: ReturnType<typeof koffi.load>): Nvml {
  const f = (sig: string) => lib.func(sig)
  const init = f('int nvmlInit_v2()')
  const getCount = f('int nvmlDeviceGetCount_v2(_Out_ uint32_t *count)')
  const getHandle = f('int nvmlDeviceGetHandleByIndex_v2(uint32_t index, _Out_ void **device)')
  const getName = f('int nvmlDeviceGetName(void *device, _Out_ uint8_t *name, uint32_t length)')
  // nvmlMemory_t is {total, free, used} as unsigned long long.
  const getMemory = f('int nvmlDeviceGetMemoryInfo(void *device, _Out_ uint64_t *memory)')
  // nvmlUtilization_t is {gpu, memory} as unsigned int.
  const getUtil = f('int nvmlDeviceGetUtilizationRates(void *device, _Out_ uint32_t *util)')
  // nvmlProcessInfo_t (v2/v3): pid u32, pad, usedGpuMemory u64, gpuInstanceId u32, computeInstanceId u32 = 24 bytes.
  const getProcs = f('int nvmlDeviceGetComputeRunningProcesses_v3(void *device, _Inout_ uint32_t *count, _Out_ uint8_t *infos)')
  const rc = init() as number
  if (rc !== 0) throw new Error(`nvmlInit_v2 returned ${rc} (driver not loaded?)`)
  return {
    count() {
      const c = new Uint32Array(1)
      return getCount(c) === 0 ? c[0] : 0
    },
    device(i) {
      const h = [null] as unknown[]
      if (getHandle(i, h) !== 0) throw new Error(`nvmlDeviceGetHandleByIndex_v2(${i}) failed`)
      const dev = h[0]
      const nameBuf = new Uint8Array(96)
      getName(dev, nameBuf, nameBuf.length)
      const end = nameBuf.indexOf(0)
      const mem = new BigUint64Array(3)
      const memOk = getMemory(dev, mem) === 0
      const util = new Uint32Array(2)
      const utilOk = getUtil(dev, util) === 0
      const cnt = new Uint32Array([64])
      const infos = new Uint8Array(24 * 64)
      const processes: GpuDevice['processes'] = []
      if (getProcs(dev, cnt, infos) === 0) {
        const dv = new DataView(infos.buffer)
        for (let k = 0; k < cnt[0]; k++) {
          const used = dv.getBigUint64(k * 24 + 8, true)
          // NVML_VALUE_NOT_AVAILABLE is all ones (no per-process figure under some hypervisors).
          processes.push({ pid: dv.getUint32(k * 24, true), name: '', usedBytes: used === 0xffffffffffffffffn ? null : Number(used) })
        }
      }
      return {
        id: `nvidia:${i}`,
        vendor: 'nvidia',
        index: i,
        name: new TextDecoder().decode(nameBuf.subarray(0, end < 0 ? undefined : end)),
        totalBytes: memOk ? Number(mem[0]) : null,
        freeBytes: memOk ? Number(mem[1]) : null,
        usedBytes: memOk ? Number(mem[2]) : null,
        utilizationPercent: utilOk ? util[0] : null,
        processes,
      }
    },
  }
}

export function readNvml(): GpuDevice[] | null {
  const nvml = loadNvml()
  if (!nvml) return null
  const out: GpuDevice[] = []
  for (let i = 0; i < nvml.count(); i++) out.push(nvml.device(i))
  return out
}
