// Residency of files the kernel hides from this user (readable, but neither owned nor writable:
// cachestat refuses, mincore lies), asked of the privileged helper's read-only `residency` verb.
// Only a helper that already runs in this session is asked: reading residency never starts one
// (that would be a password prompt). The helper answers at most 10 files a second (burst 20),
// so answers are kept ~1 s per file and requests are paced by the same token bucket here.
import type { FileResidency } from '../../../shared/api'
import type { HelperClient } from '../../helper-client'

export type ResidencyHelper = Pick<HelperClient, 'running' | 'requestIfRunning'>

export interface HelperResidencyOptions {
  /** How long one answer is reused */
  cacheMs?: number
  /** An older answer is still shown while the rate limit holds new ones back, up to this age */
  staleMs?: number
  ratePerSec?: number
  burst?: number
  /** A helper deep in a long verb is given up on after this */
  timeoutMs?: number
}

interface Answer {
  atMs: number
  bytes: number
  residentBytes: number
}

export function createHelperResidency(helper: ResidencyHelper, opts: HelperResidencyOptions = {}) {
  const cacheMs = opts.cacheMs ?? 1000
  const staleMs = opts.staleMs ?? 30_000
  const ratePerSec = opts.ratePerSec ?? 10
  const burst = opts.burst ?? 20
  const timeoutMs = opts.timeoutMs ?? 1000
  const answers = new Map<string, Answer>()
  const inFlight = new Map<string, Promise<Answer | null>>()
  let tokens = burst
  let lastRefillMs = Date.now()

  function takeToken(): boolean {
    const now = Date.now()
    tokens = Math.min(burst, tokens + ((now - lastRefillMs) / 1000) * ratePerSec)
    lastRefillMs = now
    if (tokens < 1) return false
    tokens -= 1
    return true
  }

  async function ask(path: string): Promise<Answer | null> {
    try {
      const r = await helper.requestIfRunning('residency', { path }, timeoutMs)
      const bytes = Number(r.fields.bytes)
      // Whole pages are counted; never more than the file (its last page is partial).
      const a = { atMs: Date.now(), bytes, residentBytes: Math.min(Number(r.fields['resident-bytes']), bytes) }
      answers.set(path, a)
      return a
    } catch {
      return null // busy, refused or gone: the caller keeps its "unknown" and the reason
    }
  }

  function forget(olderThanMs: number): void {
    const now = Date.now()
    for (const [p, a] of answers) if (now - a.atMs > olderThanMs) answers.delete(p)
  }

  return {
    /**
     * The helper's answer for a file whose residency the kernel hides, or null (no helper
     * running, rate limit reached with no recent answer, or the helper refused).
     */
    async residencyOf(path: string): Promise<Pick<FileResidency, 'bytes' | 'residentBytes'> | null> {
      if (!helper.running) return null
      const cached = answers.get(path)
      const now = Date.now()
      if (cached && now - cached.atMs <= cacheMs) return cached
      let pending = inFlight.get(path)
      if (!pending) {
        if (!takeToken()) return cached && now - cached.atMs <= staleMs ? cached : null
        pending = ask(path).finally(() => inFlight.delete(path))
        inFlight.set(path, pending)
      }
      if (answers.size > 4096) forget(staleMs)
      return (await pending) ?? (cached && now - cached.atMs <= staleMs ? cached : null)
    },
  }
}
