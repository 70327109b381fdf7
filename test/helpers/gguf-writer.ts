// A small GGUF v3 writer for tests: real headers, real tensor-info offsets, zero weights.
// With `sparse: true` the weights are a hole (truncate), so a "70 GB" model costs no disk.
import { open } from 'node:fs/promises'
import { ggmlBlock } from '../../src/shared/planner/ggml-types'

/** GGUF metadata value types (gguf.md). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const
export type GgufTypeNumber = (typeof GgufType)[keyof typeof GgufType]

/** ggml tensor types by number (ggml.h). */
export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9, Q2_K: 10, Q3_K: 11,
  Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15, IQ2_XXS: 16, IQ2_XS: 17, IQ3_XXS: 18, IQ1_S: 19,
  IQ4_NL: 20, IQ3_S: 21, IQ2_S: 22, IQ4_XS: 23, I8: 24, I16: 25, I32: 26, I64: 27, F64: 28,
  IQ1_M: 29, BF16: 30, TQ1_0: 34, TQ2_0: 35, MXFP4: 39,
} as const

export { ggmlBlock }

/** Bytes of a tensor's data; throws when ne0 is not a whole number of blocks (ggml would too). */
export function tensorBytes(shape: number[], type: number): number {
  const block = ggmlBlock[type]
  if (!block) throw new Error(`gguf-writer: unknown ggml type ${type}`)
  const [per, bytes] = block
  if (shape[0] % per !== 0) throw new Error(`gguf-writer: ne0=${shape[0]} is not a multiple of ${per} for ggml type ${type}`)
  const n = shape.reduce((a, b) => a * b, 1)
  return (n / per) * bytes
}

/** A metadata value with an explicit type, for when the default guess is wrong. */
export interface TypedValue {
  type: GgufTypeNumber
  value: number | bigint | string | boolean | Array<number | bigint | string | boolean>
  /** Element type of an ARRAY */
  itemType?: GgufTypeNumber
}
export type MetaValue = string | number | bigint | boolean | string[] | number[] | boolean[] | TypedValue

/** Helpers to state a type: gv.u64(7), gv.f32(1e-5), gv.arr(GgufType.INT32, [1, 2]) */
export const gv = {
  u8: (value: number): TypedValue => ({ type: GgufType.UINT8, value }),
  i8: (value: number): TypedValue => ({ type: GgufType.INT8, value }),
  u16: (value: number): TypedValue => ({ type: GgufType.UINT16, value }),
  i16: (value: number): TypedValue => ({ type: GgufType.INT16, value }),
  u32: (value: number): TypedValue => ({ type: GgufType.UINT32, value }),
  i32: (value: number): TypedValue => ({ type: GgufType.INT32, value }),
  f32: (value: number): TypedValue => ({ type: GgufType.FLOAT32, value }),
  f64: (value: number): TypedValue => ({ type: GgufType.FLOAT64, value }),
  u64: (value: number | bigint): TypedValue => ({ type: GgufType.UINT64, value }),
  i64: (value: number | bigint): TypedValue => ({ type: GgufType.INT64, value }),
  arr: (itemType: GgufTypeNumber, value: Array<number | bigint | string | boolean>): TypedValue => ({
    type: GgufType.ARRAY,
    itemType,
    value,
  }),
}

export interface TensorSpec {
  name: string
  /** ne[0] (row length) first, as GGUF stores it */
  shape: number[]
  /** ggml type number */
  type: number
}

export interface GgufSpec {
  metadata: Record<string, MetaValue>
  tensors: TensorSpec[]
  /** Written as general.alignment when not 32 */
  alignment?: number
  /** Leave the weights as a hole instead of writing zeros */
  sparse?: boolean
}

export interface WrittenGguf {
  path: string
  /** Total file size */
  bytes: number
  tensorDataOffset: number
  tensors: Array<TensorSpec & { offset: number; bytes: number }>
  /** Sum of the elements of all tensors */
  parameters: number
}

class Bytes {
  private chunks: Buffer[] = []
  length = 0
  push(b: Buffer): void {
    this.chunks.push(b)
    this.length += b.length
  }
  u32(n: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n)
    this.push(b)
  }
  u64(n: number | bigint): void {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(n))
    this.push(b)
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8')
    this.u64(b.length)
    this.push(b)
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

function guessType(v: Exclude<MetaValue, TypedValue> | number | bigint | string | boolean): GgufTypeNumber {
  if (typeof v === 'string') return GgufType.STRING
  if (typeof v === 'boolean') return GgufType.BOOL
  if (typeof v === 'bigint') return v < 0n ? GgufType.INT64 : GgufType.UINT64
  if (Array.isArray(v)) return GgufType.ARRAY
  if (!Number.isInteger(v)) return GgufType.FLOAT32
  if (v >= 0 && v <= 0xffffffff) return GgufType.UINT32
  if (v >= -0x80000000 && v < 0) return GgufType.INT32
  return v < 0 ? GgufType.INT64 : GgufType.UINT64
}

function writeScalar(out: Bytes, type: GgufTypeNumber, v: number | bigint | string | boolean): void {
  const b = Buffer.alloc(8)
  switch (type) {
    case GgufType.UINT8: b.writeUInt8(Number(v)); return out.push(b.subarray(0, 1))
    case GgufType.INT8: b.writeInt8(Number(v)); return out.push(b.subarray(0, 1))
    case GgufType.UINT16: b.writeUInt16LE(Number(v)); return out.push(b.subarray(0, 2))
    case GgufType.INT16: b.writeInt16LE(Number(v)); return out.push(b.subarray(0, 2))
    case GgufType.UINT32: b.writeUInt32LE(Number(v)); return out.push(b.subarray(0, 4))
    case GgufType.INT32: b.writeInt32LE(Number(v)); return out.push(b.subarray(0, 4))
    case GgufType.FLOAT32: b.writeFloatLE(Number(v)); return out.push(b.subarray(0, 4))
    case GgufType.BOOL: b.writeUInt8(v ? 1 : 0); return out.push(b.subarray(0, 1))
    case GgufType.STRING: return out.str(String(v))
    case GgufType.UINT64: b.writeBigUInt64LE(BigInt(v)); return out.push(b)
    case GgufType.INT64: b.writeBigInt64LE(BigInt(v)); return out.push(b)
    case GgufType.FLOAT64: b.writeDoubleLE(Number(v)); return out.push(b)
    default: throw new Error(`gguf-writer: cannot write scalar of type ${type}`)
  }
}

function writeValue(out: Bytes, key: string, raw: MetaValue): void {
  const typed: TypedValue =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'type' in raw
      ? raw
      : { type: guessType(raw as Exclude<MetaValue, TypedValue>), value: raw as TypedValue['value'] }
  out.u32(typed.type)
  if (typed.type !== GgufType.ARRAY) {
    if (Array.isArray(typed.value)) throw new Error(`gguf-writer: ${key}: array value with scalar type`)
    return writeScalar(out, typed.type, typed.value)
  }
  const items = typed.value
  if (!Array.isArray(items)) throw new Error(`gguf-writer: ${key}: ARRAY needs an array`)
  const itemType = typed.itemType ?? (items.length ? guessType(items[0]) : GgufType.UINT32)
  out.u32(itemType)
  out.u64(items.length)
  for (const it of items) writeScalar(out, itemType, it)
}

const pad = (n: number, align: number) => Math.ceil(n / align) * align

/** Lays out a GGUF in memory: header bytes plus where each tensor's data goes. */
export function layoutGguf(spec: GgufSpec): { header: Buffer; bytes: number; tensorDataOffset: number; tensors: WrittenGguf['tensors'] } {
  const alignment = spec.alignment ?? 32
  const metadata: Record<string, MetaValue> = { ...spec.metadata }
  if (alignment !== 32 && metadata['general.alignment'] === undefined) metadata['general.alignment'] = gv.u32(alignment)
  const out = new Bytes()
  out.push(Buffer.from('GGUF', 'ascii'))
  out.u32(3)
  out.u64(spec.tensors.length)
  out.u64(Object.keys(metadata).length)
  for (const [k, v] of Object.entries(metadata)) {
    out.str(k)
    writeValue(out, k, v)
  }
  let dataOffset = 0
  const tensors: WrittenGguf['tensors'] = []
  for (const t of spec.tensors) {
    const bytes = tensorBytes(t.shape, t.type)
    out.str(t.name)
    out.u32(t.shape.length)
    for (const d of t.shape) out.u64(d)
    out.u32(t.type)
    out.u64(dataOffset)
    tensors.push({ ...t, offset: dataOffset, bytes })
    dataOffset = pad(dataOffset + bytes, alignment)
  }
  const headerLength = out.length
  const tensorDataOffset = pad(headerLength, alignment)
  out.push(Buffer.alloc(tensorDataOffset - headerLength))
  const last = tensors[tensors.length - 1]
  const dataBytes = last ? last.offset + last.bytes : 0
  return { header: out.concat(), bytes: tensorDataOffset + dataBytes, tensorDataOffset, tensors }
}

/** Writes a GGUF v3 file: header, metadata, tensor infos, aligned zero data (or a hole). */
export async function writeGguf(path: string, spec: GgufSpec): Promise<WrittenGguf> {
  const { header, bytes, tensorDataOffset, tensors } = layoutGguf(spec)
  const fh = await open(path, 'w')
  try {
    await fh.write(header, 0, header.length, 0)
    if (spec.sparse) {
      await fh.truncate(bytes)
    } else {
      const zeros = Buffer.alloc(Math.min(8 << 20, Math.max(1, bytes - header.length)))
      for (let pos = header.length; pos < bytes; pos += zeros.length) {
        await fh.write(zeros, 0, Math.min(zeros.length, bytes - pos), pos)
      }
    }
  } finally {
    await fh.close()
  }
  const parameters = spec.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0)
  return { path, bytes, tensorDataOffset, tensors, parameters }
}
