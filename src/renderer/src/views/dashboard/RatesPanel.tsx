import { formatRate } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { useMemory } from '../../stores/memory'

function Row({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <div className="flex items-baseline justify-between gap-3 py-1.5" title={hint} data-testid={testId}>
      <dt className="text-sm text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="text-sm font-semibold tabular-nums">{value}</dd>
    </div>
  )
}

const perSec = (n: number) => `${n >= 100 ? Math.round(n) : n.toFixed(1)}/s`

export function RatesPanel() {
  const m = useMemory((s) => s.latest)
  const disks = m ? [...m.disks].sort((a, b) => b.readBytesPerSec - a.readBytesPerSec) : []
  const diskRead = disks.reduce((a, d) => a + d.readBytesPerSec, 0)
  const busiest = disks[0]
  return (
    <Panel title="Rates" className="min-w-0">
      {!m ? (
        <div className="text-sm text-zinc-500">Waiting for the first sample…</div>
      ) : (
        <dl className="divide-y divide-zinc-100 dark:divide-zinc-800">
          <Row testId="rate-majfault" label="Major faults" value={perSec(m.majorFaultsPerSec)} hint="Page faults that had to read from disk (pgmajfault)" />
          <Row testId="rate-pagein" label="Page-in" value={formatRate(m.pageInBytesPerSec)} hint="Bytes read in from block devices (pgpgin)" />
          <Row testId="rate-diskread" label="Disk read" value={formatRate(diskRead)} hint={busiest && busiest.readBytesPerSec > 0 ? `busiest: ${busiest.name} ${formatRate(busiest.readBytesPerSec)}` : 'all disks'} />
          <Row testId="rate-refault" label="Cache refaults" value={perSec(m.refaultsPerSec)} hint="File pages read again soon after eviction (workingset_refault_file): the cache is too small" />
          <Row
            testId="rate-psi"
            label="Pressure some · full"
            value={m.psiSomeAvg10 === null ? 'off' : `${m.psiSomeAvg10.toFixed(1)}% · ${(m.psiFullAvg10 ?? 0).toFixed(1)}%`}
            hint="PSI /proc/pressure/memory avg10: share of time tasks stalled on memory"
          />
        </dl>
      )}
    </Panel>
  )
}
