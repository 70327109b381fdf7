import { useState } from 'react'
import type { OffPreview } from '../../../../shared/api'
import { formatBytes } from '../../../../shared/format'
import { hearth } from '../../hearth'
import { refreshLocksAndPins } from '../../stores/jobs'
import { useStaging } from './store'

export type UndoEverythingState = ReturnType<typeof useUndoEverything>

/** "Undo everything"'s state: the preview asked for, off's result and an error. */
export function useUndoEverything() {
  const [preview, setPreview] = useState<OffPreview | null>(null)
  const result = useStaging((s) => s.offResult)
  const setResult = useStaging((s) => s.setOffResult)
  const [error, setError] = useState<string | null>(null)
  const ask = async () => {
    setResult(null)
    setError(null)
    try {
      setPreview(await hearth().offPreview())
    } catch (e) {
      setError((e as Error).message)
    }
  }
  const confirm = async () => {
    try {
      setResult(await hearth().off())
      setPreview(null)
      // Off releases locks without a lock job ending, so the lock badges are fetched here.
      void refreshLocksAndPins()
    } catch (e) {
      setError((e as Error).message)
    }
  }
  return { preview, result, error, ask, confirm, close: () => setPreview(null) }
}

/** The button, for a panel's header: asks the backend what off would undo. */
export function UndoEverythingButton({ undo }: { undo: UndoEverythingState }) {
  return (
    <button data-testid="undo-everything" onClick={undo.ask} className="rounded border border-red-300 px-2 py-1 text-xs text-red-700 dark:text-red-300">
      Undo everything
    </button>
  )
}

/**
 * What off will undo (and who still holds RAM), then its result: below the panel's title, the
 * whole panel wide, so long paths never squeeze the title.
 */
export function UndoEverythingDetails({ undo }: { undo: UndoEverythingState }) {
  const { preview, result, error, confirm, close } = undo
  if (!preview && !result && !error) return null
  return (
    <div className="mb-3 text-xs">
      {preview && (
        <div role="dialog" data-testid="off-preview" className="rounded border p-2">
          {preview.nothingToUndo ? (
            <p>Nothing to undo.</p>
          ) : (
            <>
              <p className="mb-1 font-semibold">This will undo:</p>
              <ul className="list-disc pl-4">
                {preview.staged.map((s) => <li key={s.path}>unstage {s.path} ({formatBytes(s.bytes)})</li>)}
                {preview.locks.map((l) => (
                  <li key={`${l.holder}:${l.path}`} data-testid="off-lock">
                    unlock {l.path} ({formatBytes(l.bytes)}, {l.holder === 'hearth' ? 'held by Hearth itself' : 'held by the helper'})
                  </li>
                ))}
                {preview.sysctls.map((c) => <li key={c.key}>restore {c.key} to {c.original} (now {c.value})</li>)}
                {preview.pressureHeldBytes > 0 && <li data-testid="off-pressure">release {formatBytes(preview.pressureHeldBytes)} of locked dummy memory (the Lab's memory pressure)</li>}
              </ul>
              {preview.holders.length > 0 && (
                <p className="mt-1 text-amber-700">
                  Still in use by {preview.holders.map((h) => `${h.command} (pid ${h.pid})`).join(', ')}: those copies are detached and their RAM
                  stays in use until the processes exit.
                </p>
              )}
              <button data-testid="confirm-off" onClick={confirm} className="mt-2 rounded bg-red-600 px-2 py-1 text-white">Undo all of it</button>
            </>
          )}
          {preview.problems.map((p) => (
            <p key={p} className="mt-1 text-amber-700" data-testid="off-problem">{p}</p>
          ))}
          <button onClick={close} className="ml-2 underline">close</button>
        </div>
      )}
      {result && (
        <p className="mt-1">
          Undone: {result.unstaged.length} staged file(s), {result.unlocked} lock(s), {result.sysctlsRestored.length} sysctl(s)
          {result.pressureReleasedBytes > 0 ? `, ${formatBytes(result.pressureReleasedBytes)} of dummy memory` : ''}
          {result.cgroupsRemoved > 0 ? `, ${result.cgroupsRemoved} lab cgroup(s)` : ''}
          {result.failed ? `; ${result.failed} could not be undone` : ''}.
          {result.problems.map((p) => (
            <span key={p} className="block text-amber-700">{p}</span>
          ))}
        </p>
      )}
      {error && <p className="mt-1 text-red-600" role="alert">{error}</p>}
    </div>
  )
}
