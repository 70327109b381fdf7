// Cards to plan against without a GPU at hand, and memory bandwidth by card name for the speed
// estimate. Figures are the vendors' specifications (memory data rate × bus width).
import type { GpuPreset } from './types'

export const gpuPresets: GpuPreset[] = [
  { name: 'NVIDIA RTX 4050 Laptop (6 GB)', vramMiB: 6144, bandwidthGBps: 192 },
  { name: 'NVIDIA RTX 3060 (12 GB)', vramMiB: 12288, bandwidthGBps: 360 },
  { name: 'NVIDIA RTX 4060 Ti (16 GB)', vramMiB: 16384, bandwidthGBps: 288 },
  { name: 'NVIDIA RTX 3090 (24 GB)', vramMiB: 24576, bandwidthGBps: 936 },
  { name: 'NVIDIA RTX 4090 (24 GB)', vramMiB: 24564, bandwidthGBps: 1008 },
  { name: 'NVIDIA RTX 5090 (32 GB)', vramMiB: 32607, bandwidthGBps: 1792 },
  { name: 'NVIDIA A100 40GB', vramMiB: 40960, bandwidthGBps: 1555 },
  { name: 'NVIDIA H100 80GB HBM3', vramMiB: 81559, bandwidthGBps: 3352 },
  { name: 'AMD RX 7900 XTX (24 GB)', vramMiB: 24560, bandwidthGBps: 960 },
]

/**
 * Detected cards report a name, not a bandwidth (nvidia-smi has no bus-width query): known names,
 * most specific first. Matched on the name as the driver prints it ("NVIDIA GeForce RTX 4090").
 */
const byName: Array<[RegExp, number]> = [
  [/H200/i, 4800],
  [/H100.*PCIe/i, 2039],
  [/H100/i, 3352],
  [/A100.*80/i, 2039],
  [/A100/i, 1555],
  [/L40S?\b/i, 864],
  [/A6000/i, 768],
  [/RTX 5090/i, 1792],
  [/RTX 5080/i, 960],
  [/RTX 4090/i, 1008],
  [/RTX 4080/i, 717],
  [/RTX 4070 Ti/i, 504],
  [/RTX 4070/i, 504],
  [/RTX 4060 Ti/i, 288],
  [/RTX 4060 Laptop/i, 256],
  [/RTX 4060/i, 272],
  [/RTX 4050/i, 192],
  [/RTX 3090/i, 936],
  [/RTX 3080/i, 760],
  [/RTX 3070/i, 448],
  [/RTX 3060 Ti/i, 448],
  [/RTX 3060/i, 360],
  [/7900 XTX/i, 960],
  [/7900 XT\b/i, 800],
]

/** GB/s for a card name, or undefined when Hearth does not know the card. */
export function bandwidthOfCard(name: string): number | undefined {
  const preset = gpuPresets.find((p) => p.name === name)
  if (preset) return preset.bandwidthGBps
  return byName.find(([re]) => re.test(name))?.[1]
}
