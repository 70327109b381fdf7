import { z } from 'zod'
import { command, query, targetList } from './define'

export type JobKind = 'warm' | 'evict' | 'lock' | 'stage' | 'unstage' | 'rewarm'
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'

/** A long operation: cancellable, with done/total bytes and a rate. */
export interface Job {
  id: string
  kind: JobKind
  /** What it works on, as shown to people ("Qwen2.5-7B-Instruct Q4_K_M") */
  label: string
  modelId?: string
  paths: string[]
  status: JobStatus
  doneBytes: number
  totalBytes: number
  bytesPerSec: number
  /** null until a rate is known */
  etaMs: number | null
  startedAtMs: number | null
  endedAtMs: number | null
  error?: { code: string; message: string }
  /** A line for people: what happened ("read 3.1 GiB, 2 files already resident") */
  note?: string
}

export const jobsMethods = {
  jobs: query<Job[]>()(z.object({}).strict().optional()),
  cancelJob: command<Job>()(z.object({ id: z.string().min(1).max(64) }).strict()),
}

export interface JobsTopics {
  /** Every state change and progress tick of a job (at most a few per second per job) */
  jobs: Job
}

export { targetList }
