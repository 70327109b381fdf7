// The tensor map (which tensors of a GGUF model sit in RAM) and the load-order recorder (which
// pages became resident, and in what order, while something loads a model).
import { z } from 'zod'
import { command, pathString, query } from './define'

/**
 * What a tensor is for, from llama.cpp's tensor names. 'experts' are the stacked MoE expert
 * matrices (ffn_*_exps), 'router' the gate that picks experts; shared experts count as 'ffn'.
 */
export const tensorKinds = ['embeddings', 'attention', 'ffn', 'experts', 'router', 'norm', 'output', 'other'] as const
export type TensorKind = (typeof tensorKinds)[number]

export interface TensorFile {
  path: string
  bytes: number
  /** Absolute offset of the tensor data section (each shard of a split model has its own) */
  tensorDataOffset: number
}

export interface TensorInfo {
  name: string
  /** Block index (blk.N); null for model-wide tensors (embeddings, output, output_norm) */
  layer: number | null
  kind: TensorKind
  /** Index into the map's files */
  file: number
  /** Absolute byte offset in its file: the file's tensorDataOffset plus the tensor's own offset */
  offset: number
  bytes: number
  /** ggml type name ("Q4_K", "F32" …) */
  type: string
  /** ne[0] first, as GGUF stores it */
  shape: number[]
  /**
   * For stacked expert tensors [ne0, ne1, n_expert]: n_expert. Expert e then occupies
   * [offset + e·bytes/n_expert, offset + (e+1)·bytes/n_expert): the slices are contiguous.
   */
  experts?: number
}

export interface TensorMapFile extends TensorFile {
  /** null when the kernel will not tell this user (see unknownReason) */
  residentBytes: number | null
  unknownReason?: string
}

export interface TensorMap {
  modelId?: string
  name: string
  files: TensorMapFile[]
  /** In file order (file, then offset) */
  tensors: TensorInfo[]
  /** Resident bytes per tensor, same order; null where unknown */
  residentBytes: (number | null)[]
  /**
   * Per stacked expert tensor (same index as tensors; absent for others): the fraction (0..1) of
   * the pages each expert's slice spans that are resident.
   */
  expertResident?: Record<number, number[]>
  blockCount: number
  expertCount?: number
  pageBytes: number
  atMs: number
  /** How long measuring took, so a live view can space its refreshes */
  measureMs: number
}

/** [file index, first page, page count]: a run of pages that became (or stopped being) resident. */
export type PageRun = [number, number, number]

export type RecordingMethod = 'sampled' | 'tracepoint'

export interface RecordingHeader {
  type: 'header'
  format: 'hearth-recording'
  version: 1
  modelId?: string
  name: string
  files: TensorFile[]
  pageBytes: number
  /** Samples per second asked for (the recorder may slow down if a tick costs too much) */
  hz: number
  /**
   * 'sampled': residency compared every 1/hz s; pages added within one sample are ordered by
   * file offset, since sampling cannot see their order. 'tracepoint': the kernel's exact order.
   */
  method: RecordingMethod
  startedAtMs: number
  /** The process whose exit ends the recording and whose major faults are counted */
  pid?: number
  /** 'process': /proc/PID/stat majflt of pid; 'system': /proc/vmstat pgmajfault */
  faultsScope: 'process' | 'system'
  /** The whole disks whose /proc/diskstats reads are summed ([] when the files are on no block device) */
  disks: string[]
  tensors: TensorInfo[]
}

export interface RecordingInitial {
  type: 'initial'
  /** Pages resident when the recording started */
  resident: PageRun[]
}

export interface RecordingSample {
  type: 'sample'
  /** Milliseconds since startedAtMs */
  tMs: number
  added: PageRun[]
  removed: PageRun[]
  /** Resident bytes of all the model's files after this sample */
  residentBytes: number
  /** Reads of the disks since the previous sample; null when the files are on no block device */
  diskReadBytesPerSec: number | null
  majorFaultsPerSec: number | null
  /**
   * Share (0..1) of the model's pages not yet wholly resident (where pages can arrive) that this
   * sample compared with the kernel, when not all: large, quiet, already cached ranges are compared
   * in rotation to bound the recorder's CPU, so an arrival there appears in a later sample. Absent
   * means everything was compared (wholly resident ranges, which can only lose pages, may still
   * have been compared in rotation).
   */
  coverage?: number
}

export type RecordingEndReason = 'seconds' | 'pid-exited' | 'stopped' | 'limit' | 'error'

export interface RecordingEnd {
  type: 'end'
  tMs: number
  reason: RecordingEndReason
  /** Why it stopped, for people (an error's message) */
  note?: string
  samples: number
  /** CPU time the recorder's ticks took (user + system), ms */
  recorderCpuMs: number
}

export type RecordingLine = RecordingHeader | RecordingInitial | RecordingSample | RecordingEnd

/** A whole recording; its JSON-lines file is header, initial, samples…, end. */
export interface Recording {
  header: RecordingHeader
  initial: RecordingInitial
  samples: RecordingSample[]
  /** Absent while it runs (or when a file was cut short) */
  end?: RecordingEnd
}

export interface RecordingStatus {
  id: string
  name: string
  modelId?: string
  state: 'recording' | 'done' | 'failed'
  hz: number
  method: RecordingMethod
  pid?: number
  startedAtMs: number
  elapsedMs: number
  samples: number
  addedBytes: number
  residentBytes: number
  totalBytes: number
  /** Set once it ended */
  reason?: RecordingEndReason
  note?: string
}

export const maxRecorderHz = 10

const recordInput = z
  .object({
    target: pathString('model'),
    hz: z.number().gt(0, 'hz must be above 0').max(maxRecorderHz, `hz must be at most ${maxRecorderHz}`).optional(),
    seconds: z.number().gt(0, 'seconds must be above 0').max(24 * 3600, 'seconds must be at most one day').optional(),
    pid: z.number().int('pid must be a whole number').min(1, 'pid must be at least 1').optional(),
  })
  .strict()
  .refine((v) => v.seconds === undefined || v.pid === undefined, 'give seconds or pid, not both')

const recordingId = z.object({ id: z.string().min(1).max(64) }).strict()

export const tensorsMethods = {
  /** Every tensor of a GGUF model (all shards) with its byte range and how much of it is resident. */
  tensorMap: query<TensorMap>()(
    z.object({ target: pathString('model'), experts: z.boolean().optional() }).strict(),
  ),
  /** Starts recording which pages of a model become resident; ends after seconds, when pid exits, or on stop. */
  startRecording: command<RecordingStatus>()(recordInput),
  stopRecording: command<RecordingStatus>()(recordingId),
  /** This session's recordings, newest first */
  recordings: query<RecordingStatus[]>()(z.object({}).strict().optional()),
  /** A recording's data (for replay and export); a running one up to now */
  recording: query<Recording>()(recordingId),
}

export interface TensorsTopics {
  /** A recording's status: when it starts, about twice a second while it runs, and when it ends */
  recordings: RecordingStatus
}
