// The recorder as one self-contained section: record a model (on demand, or "during this run" of
// a given process), list this session's recordings and imported files, replay one, compare two.
// The model detail shows it; the Lab view can mount it with the run's pid.
import { useEffect, useMemo, useState } from 'react'
import type { Recording } from '../../../../shared/api'
import { maxRecorderHz } from '../../../../shared/contract/tensors'
import { formatBytes, formatDuration } from '../../../../shared/format'
import { hearth } from '../../hearth'
import { RecordingCompare } from './RecordingCompare'
import { RecordingReplay } from './RecordingReplay'
import { loadRecording, startRecordingsSync, useRecordings } from './recordings-store'

const rates = [1, 2, 5, maxRecorderHz]
const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

export interface RecordingsSectionProps {
  /** The model to record (id, name or path); without it the section replays and compares only */
  target?: string
  /** A running process (a load lab run): "record during this run" ends when it exits */
  pid?: number
  /** Show only this model's recordings (and imported files) */
  modelId?: string
}

export function RecordingsSection({ target, pid, modelId }: RecordingsSectionProps) {
  useEffect(() => startRecordingsSync(), [])
  const { byKey, order, importText } = useRecordings()
  const [hz, setHz] = useState(maxRecorderHz)
  const [seconds, setSeconds] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [replayKey, setReplayKey] = useState<string | null>(null)
  const [pair, setPair] = useState<[string | null, string | null]>([null, null])
  const [loaded, setLoaded] = useState<Record<string, Recording>>({})

  const keys = order.filter((k) => {
    const e = byKey[k]
    return e && (e.imported || !modelId || e.status?.modelId === modelId)
  })
  const running = keys.filter((k) => byKey[k]?.status?.state === 'recording')

  // Loads what the replay or the comparison shows (again when a recording ends).
  const wanted = [replayKey, ...pair].filter((k): k is string => !!k)
  const stamp = wanted.map((k) => `${k}:${byKey[k]?.status?.state ?? 'file'}:${byKey[k]?.data ? 1 : 0}`).join(',')
  useEffect(() => {
    for (const k of wanted) {
      loadRecording(k).then(
        (r) => setLoaded((l) => (l[k] === r ? l : { ...l, [k]: r })),
        (e: unknown) => setError(message(e)),
      )
    }
    // stamp says when any of them changed state
  }, [stamp])

  async function start() {
    if (!target) return
    setBusy(true)
    setError(null)
    try {
      const s = Number(seconds)
      const st = await hearth().startRecording({ target, hz, ...(pid ? { pid } : seconds && s > 0 ? { seconds: s } : {}) })
      useRecordings.getState().apply(st)
      setReplayKey(null)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  async function stop(id: string) {
    try {
      const st = await hearth().stopRecording({ id })
      useRecordings.getState().apply(st)
      setReplayKey(id)
    } catch (e) {
      setError(message(e))
    }
  }

  async function importFiles(files: FileList | null) {
    setError(null)
    let last: string | null = null
    for (const f of Array.from(files ?? [])) {
      try {
        last = importText(f.name, await f.text())
      } catch (e) {
        setError(message(e))
      }
    }
    if (last) setReplayKey(last)
  }

  const compare = pair[0] && pair[1] && loaded[pair[0]] && loaded[pair[1]] ? ([loaded[pair[0]], loaded[pair[1]]] as const) : null
  const replay = !compare && replayKey ? loaded[replayKey] : undefined
  const labelOf = useMemo(() => (k: string) => byKey[k]?.label ?? k, [byKey])

  return (
    <div className="space-y-3" data-testid="recordings">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        {target && (
          <>
            <button type="button" disabled={busy} onClick={() => void start()} className="rounded-md bg-emerald-600 px-3 py-1 text-white hover:bg-emerald-700 disabled:opacity-50" data-testid="record-start">
              {pid ? `Record during this run (pid ${pid})` : 'Record'}
            </button>
            <label className="flex items-center gap-1 text-xs text-zinc-500">
              at
              <select value={hz} onChange={(e) => setHz(Number(e.target.value))} className="rounded border border-zinc-300 bg-transparent px-1 py-0.5 dark:border-zinc-700" data-testid="record-hz">
                {rates.map((r) => (
                  <option key={r} value={r}>{r} Hz</option>
                ))}
              </select>
            </label>
            {!pid && (
              <label className="flex items-center gap-1 text-xs text-zinc-500">
                for
                <input value={seconds} onChange={(e) => setSeconds(e.target.value.replace(/[^\d.]/g, ''))} placeholder="until stopped" className="w-24 rounded border border-zinc-300 bg-transparent px-1 py-0.5 dark:border-zinc-700" aria-label="seconds to record" />
                s
              </label>
            )}
          </>
        )}
        {running.map((k) => (
          <button key={k} type="button" onClick={() => void stop(k)} className="rounded-md border border-red-300 px-3 py-1 text-red-700 hover:bg-red-50 dark:border-red-800 dark:text-red-400 dark:hover:bg-red-950" data-testid="record-stop">
            Stop {byKey[k]?.status ? formatDuration(byKey[k].status!.elapsedMs) : ''}
          </button>
        ))}
        <label className="ml-auto cursor-pointer text-xs text-sky-700 hover:underline dark:text-sky-400">
          Import recordings…
          <input type="file" accept=".jsonl,.ndjson,.json" multiple className="hidden" onChange={(e) => void importFiles(e.target.files)} data-testid="record-import" />
        </label>
      </div>
      <p className="text-xs text-zinc-500">
        The recorder samples residency (up to {maxRecorderHz} Hz: cachestat over coarse ranges, mincore only where counts changed); pages that arrive within one sample are ordered by file offset. It does not use the kernel&apos;s exact page-by-page order (the filemap tracepoint).
      </p>
      {error && <p className="text-sm text-red-600 dark:text-red-400" data-testid="record-error">{error}</p>}
      {keys.length > 0 && (
        <table className="w-full text-xs" data-testid="recording-list">
          <thead className="text-left text-zinc-500">
            <tr>
              <th className="py-1 font-normal">Recording</th>
              <th className="font-normal">State</th>
              <th className="text-right font-normal">Loaded</th>
              <th className="w-44 text-right font-normal">Replay · compare A / B</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => {
              const e = byKey[k]
              const st = e.status
              return (
                <tr key={k} className="border-t border-zinc-100 dark:border-zinc-800" data-testid="recording-row">
                  <td className="max-w-0 truncate py-1 pr-2" title={e.label}>{e.label}</td>
                  <td className="pr-2 whitespace-nowrap">{st ? `${st.state}${st.state === 'recording' ? ` ${formatDuration(st.elapsedMs)}` : st.reason ? ` (${st.reason})` : ''}` : 'file'}</td>
                  <td className="pr-2 text-right tabular-nums">{st ? formatBytes(st.addedBytes) : e.data ? `${e.data.samples.length} samples` : ''}</td>
                  <td className="space-x-2 text-right whitespace-nowrap">
                    <button type="button" className="text-sky-700 hover:underline dark:text-sky-400" onClick={() => { setPair([null, null]); setReplayKey(k) }} data-testid="recording-replay">
                      Replay
                    </button>
                    {(['A', 'B'] as const).map((side, i) => (
                      <label key={side} className="inline-flex items-center gap-0.5">
                        <input type="radio" name={`compare-${side}`} checked={pair[i] === k} onChange={() => setPair((p) => (i === 0 ? [k, p[1]] : [p[0], k]))} data-testid={`compare-${side}`} />
                        {side}
                      </label>
                    ))}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
      {compare && <RecordingCompare a={compare[0]} b={compare[1]} labels={[labelOf(pair[0]!), labelOf(pair[1]!)]} />}
      {replay && <RecordingReplay rec={replay} title={labelOf(replayKey!)} />}
    </div>
  )
}
