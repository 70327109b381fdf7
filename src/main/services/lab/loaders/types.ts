// What every loader does for a lab run: start a real loader process (or find Ollama's runner),
// tell the experiment its pid, let it take a baseline right before the load starts and a final
// reading before the process goes, and report the load, first-token and generation timings.
import type { LabLoaderInfo, LabLoaderKind } from '../../../../shared/api'

export interface LoaderRunSpec {
  /** The model's first file (llama.cpp finds the other shards itself) */
  modelPath: string
  files: string[]
  /** Ollama's name:tag for the model, when it is one of Ollama's */
  ollamaName?: string
  prompt: string
  tokens: number
  contextSize: number
  /** argv prefix that starts the loader inside a memory-limited cgroup (empty: none) */
  wrap: string[]
  /** Aborts on cancel and on the run's timeout: the loader kills its process and throws */
  signal: AbortSignal
}

export interface LoaderHooks {
  /** The process to measure is known */
  started(pid: number): void
  /** Right before the load starts: the experiment takes its baseline now */
  beforeLoad(): Promise<void>
  /** After the generation, before the process goes: the final reading */
  beforeExit(): Promise<void>
}

export interface LoaderTimings {
  /** Wall clock (epoch ms) when the load started */
  loadStartedAtMs: number
  loadMs: number
  firstTokenMs: number
  tokens: number
  tokensPerSec: number | null
}

export interface Loader {
  kind: LabLoaderKind
  info(): Promise<LabLoaderInfo>
  /** Throws LoaderFailure (with the process's output) when the loader fails or is aborted */
  run(spec: LoaderRunSpec, hooks: LoaderHooks): Promise<LoaderTimings>
}

/** A short prompt every tokenizer can read. */
export const labPrompt = 'Once upon a time'

/** tokens/s over the generation, the first token excluded (its time is prompt processing). */
export function tokensPerSecond(tokens: number, firstTokenAtMs: number, lastTokenAtMs: number): number | null {
  const span = lastTokenAtMs - firstTokenAtMs
  return tokens >= 2 && span > 0 ? ((tokens - 1) * 1000) / span : null
}
