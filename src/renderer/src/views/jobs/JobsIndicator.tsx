import { isActive, useJobs } from '../../stores/jobs'
import { useUi } from '../../stores/ui'

/** "2 jobs running" in the header, opening the jobs panel; nothing when idle. */
export function JobsIndicator() {
  const running = useJobs((s) => Object.values(s.byId).filter(isActive).length)
  const navigate = useUi((s) => s.navigate)
  if (running === 0) return null
  return (
    <button
      type="button"
      onClick={() => navigate({ view: 'jobs' })}
      data-testid="jobs-indicator"
      className="inline-flex items-center gap-1.5 rounded-full bg-sky-100 px-2.5 py-0.5 text-xs font-medium text-sky-800 hover:bg-sky-200 dark:bg-sky-900/60 dark:text-sky-200"
    >
      <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden />
      {running} job{running === 1 ? '' : 's'} running
    </button>
  )
}
