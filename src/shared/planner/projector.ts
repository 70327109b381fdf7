// A vision projector (mmproj GGUF, llama.cpp's clip/mtmd): its weights go to the GPU unless
// --no-mmproj-offload, and mtmd reserves a compute graph for its warm-up image at start. Both
// are modelled from the clip graph (tools/mtmd/clip.cpp): test/fixtures/vram-h100 holds no
// projector run, so these figures are not measured.
import { cudaTensorBytes, tensorBytes } from './ggml-types'
import type { PlannerTensor, ProjectorPlan, ProjectorShape } from './types'

type Meta = Record<string, unknown>
const MiB = 1024 * 1024

export const projectorNote =
  'Projector figures are modelled from llama.cpp\'s clip graph, not measured: the H100 measurements (test/fixtures/vram-h100) hold no projector run. Keep a larger margin when you add one.'

const n = (md: Meta, k: string): number | undefined => {
  const v = md[k]
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined
}

/**
 * The warm-up image mtmd reserves its graph with (clip.cpp load_hparams): most projectors use
 * their native image size; dynamic-resolution ones cap the warm-up in merged tokens "to avoid OOM".
 */
function warmupPatches(type: string, imageSize: number, patchSize: number, merge: number): number {
  const tokens: Record<string, number> = {
    qwen2vl_merger: 46 * 46, 'qwen2.5vl_merger': 46 * 46, qwen3vl_merger: 46 * 46, glm4v: 46 * 46, mimovl: 46 * 46, dots_ocr: 46 * 46,
    pixtral: 256, kimivl: 256, lightonocr: 256, phi4: 16 * 16,
  }
  const t = tokens[type]
  if (t) return t * merge * merge
  const side = Math.floor(imageSize / Math.max(patchSize, 1))
  return side * side
}

/** Throws when the file is not a vision projector (no clip.vision.* keys, no v.* tensors). */
export function projectorShapeFrom(path: string, md: Meta, tensors: PlannerTensor[], fileBytes: number): ProjectorShape {
  const arch = md['general.architecture']
  const vision = tensors.filter((t) => t.name.startsWith('v.'))
  if (arch !== 'clip' || !vision.length) throw new Error(`${path}: not a vision projector (architecture ${String(arch)}, ${vision.length} vision tensors); pick the mmproj-*.gguf file that came with the model`)
  const nEmbd = n(md, 'clip.vision.embedding_length') ?? 0
  const patchEmbd = tensors.find((t) => t.name === 'v.patch_embd.weight')
  const patchSize = n(md, 'clip.vision.patch_size') ?? patchEmbd?.shape[0] ?? 14
  const pos = tensors.find((t) => t.name === 'v.position_embd.weight')
  const imageSize = n(md, 'clip.vision.image_size') ?? (pos ? Math.round(Math.sqrt(pos.shape[1] ?? 0)) * patchSize : 336)
  const type = typeof md['clip.projector_type'] === 'string' ? (md['clip.projector_type'] as string) : 'mlp'
  const merge = n(md, 'clip.vision.spatial_merge_size') ?? (/qwen|glm4v|mimovl/.test(type) ? 2 : 1)
  const nLayer = n(md, 'clip.vision.block_count') ?? new Set(vision.map((t) => /^v\.blk\.(\d+)\./.exec(t.name)?.[1]).filter(Boolean)).size
  const up = tensors.find((t) => /^v\.blk\.0\.ffn_up\.weight$/.test(t.name))
  return {
    path,
    name: typeof md['general.name'] === 'string' ? (md['general.name'] as string) : (path.split('/').pop() ?? path),
    projectorType: type,
    nLayer,
    nEmbd,
    nHead: n(md, 'clip.vision.attention.head_count') ?? Math.max(1, Math.round(nEmbd / 64)),
    nFf: n(md, 'clip.vision.feed_forward_length') ?? up?.shape[1] ?? 4 * nEmbd,
    imageSize,
    patchSize,
    warmupPatches: warmupPatches(type, imageSize, patchSize, merge),
    fileBytes,
    tensors,
  }
}

/**
 * The projector's VRAM. Weights: every tensor, as the CUDA buffer pads them. Compute: the
 * vision transformer's live activations at its peak for the warm-up image, in f32 (the input
 * image, the residual stream, the layer input, and either the FFN's up projection and its
 * activation, or, where flash attention is off, the f32 attention matrix of every head).
 */
export function estimateProjector(p: ProjectorShape, onGpu: boolean, flashAttn = true): ProjectorPlan {
  const weights = p.tensors.reduce((s, t) => s + (onGpu ? cudaTensorBytes(t.shape, t.type) : tensorBytes(t.shape, t.type)), 0)
  const P = p.warmupPatches
  const image = 3 * P * p.patchSize * p.patchSize * 4
  const ffn = P * (2 * p.nEmbd + 2 * p.nFf) * 4
  const attn = P * 4 * p.nEmbd * 4 + (flashAttn ? 0 : P * P * p.nHead * 4)
  const compute = image + Math.max(ffn, attn)
  const r = (b: number) => Math.round((b / MiB) * 100) / 100
  return {
    path: p.path,
    name: p.name,
    onGpu,
    weightsMiB: r(weights),
    computeMiB: r(compute),
    patches: P,
    note: projectorNote,
  }
}
