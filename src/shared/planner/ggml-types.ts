// Bytes of ggml tensors by type: [elements per block, bytes per block] (ggml.c type_traits).
export const ggmlBlock: Record<number, readonly [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110],
  22: [256, 82], 23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8],
  29: [256, 56], 30: [1, 2], 34: [256, 54], 35: [256, 66], 39: [32, 17],
}

export const kvTypeNumber = { f32: 0, f16: 1, bf16: 30, q8_0: 8, q5_1: 7, q5_0: 6, q4_1: 3, q4_0: 2, iq4_nl: 20 } as const

/** Bytes of `n` elements of one row; ggml rounds nothing, so n must be whole blocks. */
export function rowBytes(type: number, n: number): number {
  const b = ggmlBlock[type]
  if (!b) throw new Error(`unknown ggml type ${type}`)
  return Math.ceil(n / b[0]) * b[1]
}

export function tensorBytes(shape: number[], type: number): number {
  let rows = 1
  for (let i = 1; i < shape.length; i++) rows *= shape[i]
  return rowBytes(type, shape[0] ?? 0) * rows
}

const floatTypes = new Set([0, 1, 30, 28])

/**
 * What the CUDA buffer type allocates for a tensor: quantised rows whose length is not a multiple
 * of 512 get one row-fragment of padding (MATRIX_ROW_PADDING), so the kernels can read past the end.
 */
export function cudaTensorBytes(shape: number[], type: number): number {
  const base = tensorBytes(shape, type)
  const ne0 = shape[0] ?? 0
  if (floatTypes.has(type) || ne0 % 512 === 0) return base
  return base + rowBytes(type, 512 - (ne0 % 512))
}
