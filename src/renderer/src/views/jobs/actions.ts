// What the job buttons do. Every failure ends as a toast carrying the backend's own message (it
// names the fix); a warm that would push other warm models out waits for the user's word.
import type { Job, JobKind, WarmPlan } from '../../../../shared/api'
import { HearthError } from '../../../../shared/errors'
import { formatBytes } from '../../../../shared/format'
import { hearth } from '../../hearth'
import { kindNoun, useJobs } from '../../stores/jobs'

export const kindVerb: Record<JobKind, string> = {
  warm: 'Warming',
  rewarm: 'Keeping warm',
  evict: 'Evicting',
  lock: 'Locking',
  stage: 'Staging',
  unstage: 'Unstaging',
  readtest: 'Measuring',
  lab: 'Measuring loads of',
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function fail(title: string, err: unknown): void {
  useJobs.getState().toast({ kind: 'error', title, message: messageOf(err) })
}

/** Runs one command for a model with its buttons disabled meanwhile. */
async function withBusy<T>(modelId: string, run: () => Promise<T>): Promise<T> {
  useJobs.getState().setBusy(modelId, true)
  try {
    return await run()
  } finally {
    useJobs.getState().setBusy(modelId, false)
  }
}

function isWarmPlan(v: unknown): v is WarmPlan {
  return typeof v === 'object' && v !== null && Array.isArray((v as WarmPlan).wouldEvict) && Array.isArray((v as WarmPlan).targets)
}

/** Plans first: refuses with the numbers when it cannot fit, asks when it would evict, else warms. */
export async function warmModel(modelId: string, label: string): Promise<void> {
  const targets = [modelId]
  await withBusy(modelId, async () => {
    let plan: WarmPlan
    try {
      plan = await hearth().warmPlan({ targets })
    } catch (err) {
      return fail(`Cannot warm ${label}`, err)
    }
    if (!plan.fitsInRam) {
      return useJobs.getState().toast({ kind: 'error', title: `Cannot warm ${label}`, message: tooLargeMessage(plan) })
    }
    if (plan.wouldEvict.length > 0) return useJobs.getState().setPendingWarm({ targets, plan })
    await startWarm(targets, label, false)
  })
}

function tooLargeMessage(plan: WarmPlan): string {
  return `${plan.summary}. It is ${formatBytes(plan.bytes)}; RAM is ${formatBytes(plan.memTotalBytes)} (${formatBytes(plan.memAvailableBytes)} available). Warm a smaller model, or load it with mmap and let the kernel page it.`
}

/** Starts the warm; a WOULD_EVICT that races the plan (memory moved) still ends in the dialog. */
export async function startWarm(targets: string[], label: string, force: boolean): Promise<Job[]> {
  try {
    return await hearth().warm({ targets, force })
  } catch (err) {
    if (err instanceof HearthError && err.code === 'WOULD_EVICT' && isWarmPlan(err.detail)) {
      useJobs.getState().setPendingWarm({ targets, plan: err.detail })
    } else if (err instanceof HearthError && err.code === 'TOO_LARGE' && isWarmPlan(err.detail)) {
      useJobs.getState().toast({ kind: 'error', title: `Cannot warm ${label}`, message: tooLargeMessage(err.detail) })
    } else {
      fail(`Cannot warm ${label}`, err)
    }
    return []
  }
}

export async function evictModel(modelId: string, label: string): Promise<void> {
  await withBusy(modelId, async () => {
    try {
      const reports = await hearth().evict({ targets: [modelId] })
      // Pages a running process maps (or locks) stay: say how much and who holds them. When it is
      // this Hearth's own lock, offer to undo it.
      for (const r of reports) {
        const kept = r.files.reduce((s, f) => s + (f.residentBytes ?? 0), 0)
        if (kept === 0) continue
        const action = r.lockedByThisHearth ? { label: 'Unlock and evict', run: () => void unlockThenEvict(modelId, label) } : undefined
        useJobs.getState().toast({ kind: 'info', title: `${r.job.label}: not all of it left RAM`, message: r.job.note ?? `${formatBytes(kept)} stayed resident`, action })
      }
    } catch (err) {
      fail(`Cannot evict ${label}`, err)
    }
  })
}

export async function lockModel(modelId: string, label: string): Promise<void> {
  await withBusy(modelId, async () => {
    try {
      await hearth().lock({ targets: [modelId] })
    } catch (err) {
      fail(`Cannot lock ${label}`, err)
    }
  })
}

export async function unlockModel(modelId: string, label: string): Promise<void> {
  await withBusy(modelId, async () => {
    try {
      useJobs.getState().setLocks(await hearth().unlock({ targets: [modelId] }))
    } catch (err) {
      fail(`Cannot unlock ${label}`, err)
    }
  })
}

async function unlockThenEvict(modelId: string, label: string): Promise<void> {
  await unlockModel(modelId, label)
  if (!useJobs.getState().locks.some((l) => l.modelId === modelId)) await evictModel(modelId, label)
}

export async function pinModel(modelId: string, label: string, pin: boolean): Promise<void> {
  await withBusy(modelId, async () => {
    try {
      useJobs.getState().setPins(pin ? await hearth().pin({ model: modelId }) : await hearth().unpin({ model: modelId }))
    } catch (err) {
      fail(`Cannot ${pin ? 'pin' : 'unpin'} ${label}`, err)
    }
  })
}

export async function cancelJob(job: Job): Promise<void> {
  try {
    await hearth().cancelJob({ id: job.id })
  } catch (err) {
    fail(`Cannot cancel the ${kindNoun[job.kind]} of ${job.label}`, err)
  }
}
