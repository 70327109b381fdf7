import { useEffect } from 'react'
import { useJobs, type Toast } from '../../stores/jobs'

function ToastCard({ toast }: { toast: Toast }) {
  // Errors and toasts that offer a fix stay until dismissed: people read them at their own pace.
  useEffect(() => {
    if (toast.kind === 'error' || toast.action) return
    const t = setTimeout(() => useJobs.getState().dismiss(toast.id), 8000)
    return () => clearTimeout(t)
  }, [toast])
  const error = toast.kind === 'error'
  return (
    <div
      role={error ? 'alert' : 'status'}
      data-testid="toast"
      data-kind={toast.kind}
      className={`pointer-events-auto w-96 rounded-lg border p-3 text-sm shadow-lg ${
        error ? 'border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100' : 'border-zinc-200 bg-white dark:border-zinc-700 dark:bg-zinc-900'
      }`}
    >
      <div className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <div className="font-semibold">{toast.title}</div>
          <div className="mt-0.5 break-words" data-testid="toast-message">{toast.message}</div>
          {toast.action && (
            <button
              type="button"
              data-testid="toast-action"
              onClick={() => {
                useJobs.getState().dismiss(toast.id)
                toast.action!.run()
              }}
              className="mt-2 rounded-md border border-zinc-300 px-2 py-0.5 text-xs font-medium hover:bg-zinc-100 dark:border-zinc-600 dark:hover:bg-zinc-800"
            >
              {toast.action.label}
            </button>
          )}
        </div>
        <button type="button" onClick={() => useJobs.getState().dismiss(toast.id)} aria-label="Dismiss" className="shrink-0 rounded px-1 opacity-60 hover:opacity-100">
          ×
        </button>
      </div>
    </div>
  )
}

export function Toasts() {
  const toasts = useJobs((s) => s.toasts)
  return (
    <div className="pointer-events-none fixed right-4 bottom-4 z-50 flex flex-col gap-2" aria-live="polite">
      {toasts.map((t) => (
        <ToastCard key={t.id} toast={t} />
      ))}
    </div>
  )
}
