import type { FileResidency, GgufFacts } from '../../../../shared/api'
import { RamDiskBadge } from '../staging/RamDiskBadge'
import { formatBytes, formatCount, formatPercent } from '../../../../shared/format'
import { Panel } from '../../components/Card'
import { PathText } from '../../components/PathText'
import { HeatStrip } from '../../components/HeatStrip'
import { ResidencyBar } from '../../components/ResidencyBar'
import { useModel } from '../../stores/catalog'
import { useModelResidency } from '../../stores/residency'
import { useUi } from '../../stores/ui'
import { ModelDetailActions } from './ModelDetailActions'
import { formatLabel, sourceLabel } from './describe'
import { TensorsPanel } from '../tensors/TensorsPanel'
import { LoadTimePanel } from '../doctor/LoadTimePanel'

function Fact({ label, value }: { label: string; value: string | number | undefined }) {
  if (value === undefined || value === '') return null
  return (
    <div>
      <dt className="text-xs text-zinc-500 uppercase">{label}</dt>
      <dd className="font-medium tabular-nums">{value}</dd>
    </div>
  )
}

function GgufFactsGrid({ g }: { g: GgufFacts }) {
  return (
    <dl className="grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-4" data-testid="gguf-facts">
      <Fact label="Architecture" value={g.architecture} />
      <Fact label="Parameters" value={g.parameters > 0 ? formatCount(g.parameters) : undefined} />
      <Fact label="Quantisation" value={g.fileType} />
      <Fact label="Layers" value={g.blockCount} />
      <Fact label="Context" value={g.contextLength > 0 ? g.contextLength.toLocaleString() : undefined} />
      <Fact label="Embedding" value={g.embeddingLength} />
      <Fact label="Heads (KV)" value={`${g.headCount} (${g.headCountKv})`} />
      <Fact label="Vocabulary" value={g.vocabSize?.toLocaleString()} />
      {g.expertCount ? <Fact label="Experts (used)" value={`${g.expertCount} (${g.expertUsedCount ?? '?'})`} /> : null}
      {g.slidingWindow ? <Fact label="Sliding window" value={g.slidingWindow} /> : null}
    </dl>
  )
}

function fileResidencyText(f: FileResidency | undefined): string {
  if (!f) return '…'
  if (f.residentBytes === null) return 'unknown'
  return `${formatPercent(f.bytes > 0 ? f.residentBytes / f.bytes : 0)} · ${formatBytes(f.residentBytes)}`
}

export function ModelDetail({ id }: { id: string }) {
  const model = useModel(id)
  const residency = useModelResidency(id)
  const navigate = useUi((s) => s.navigate)
  const back = (
    <button type="button" onClick={() => navigate({ view: 'dashboard' })} className="text-sm text-sky-700 hover:underline dark:text-sky-400" data-testid="back">
      ← All models
    </button>
  )
  if (!model) {
    return (
      <div className="space-y-3">
        {back}
        <p className="text-sm text-zinc-500">No model with id “{id}” in the catalog (it may have been removed by a rescan).</p>
      </div>
    )
  }
  const fileRes = new Map(residency?.files.map((f) => [f.path, f]))
  return (
    <div className="space-y-4" data-testid="model-detail" data-model-id={id}>
      {back}
      <Panel>
        <div className="flex flex-wrap items-start justify-between gap-4">
          <div className="min-w-0">
            <div className="flex items-center gap-2">
              <h1 className="truncate text-xl font-semibold" title={model.name}>{model.name}</h1>
              <RamDiskBadge modelId={model.id} />
            </div>
            <p className="mt-0.5 text-sm text-zinc-500">
              {sourceLabel[model.source]} · {formatLabel(model)} · {formatBytes(model.bytes)} in {model.files.length} file{model.files.length === 1 ? '' : 's'}
            </p>
            {model.tags && model.tags.length > 0 && <p className="mt-0.5 text-xs text-zinc-500">tags: {model.tags.join(', ')}</p>}
            <p className="mt-0.5 truncate font-mono text-xs text-zinc-400" title={model.root}>{model.root}</p>
          </div>
          <ModelDetailActions model={model} />
        </div>
        <div className="mt-4"><ResidencyBar residency={residency} /></div>
        {residency?.unknownReason && <p className="mt-1 text-xs text-zinc-500">Unknown: {residency.unknownReason}</p>}
      </Panel>
      <LoadTimePanel model={model} />
      {model.gguf && <Panel title="GGUF header"><GgufFactsGrid g={model.gguf} /></Panel>}
      {model.safetensors && (
        <Panel title="Safetensors">
          <dl className="grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-4">
            <Fact label="Dtype" value={model.safetensors.dtype} />
            <Fact label="Parameters" value={formatCount(model.safetensors.parameters)} />
          </dl>
        </Panel>
      )}
      <Panel title="Files">
        <ul className="space-y-3" data-testid="file-list">
          {model.files.map((f) => {
            const r = fileRes.get(f.path)
            return (
              <li key={f.path} data-testid="file" className="space-y-1">
                <div className="flex items-baseline gap-3 text-sm">
                  <PathText path={f.path} className="flex-1" testId="file-path" />
                  <span className="rounded bg-zinc-100 px-1.5 text-xs text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">{f.role}</span>
                  <span className="w-20 text-right tabular-nums">{formatBytes(f.bytes)}</span>
                  <span className="w-32 text-right text-xs text-zinc-500 tabular-nums" title={r?.unknownReason}>{fileResidencyText(r)}</span>
                </div>
                <HeatStrip path={f.path} />
              </li>
            )
          })}
        </ul>
      </Panel>
      <TensorsPanel model={model} />
    </div>
  )
}

