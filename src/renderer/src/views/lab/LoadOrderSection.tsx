// The load-order recorder (views/tensors) inside the Lab: record which pages a run reads, in what
// order, while its loader runs ("during this run" follows the loader's pid until it exits), then
// replay and compare recordings of different runs. Only GGUF models have a tensor map to record.
import { Panel } from '../../components/Card'
import { RecordingsSection } from '../tensors/RecordingsSection'
import type { LabSectionProps } from './sections'

export function LoadOrderSection({ experiment, run }: LabSectionProps) {
  if (!experiment) return null
  const running = run && run.pid !== null && run.endedAtMs === null ? run.pid : undefined
  return (
    <Panel title="Load order">
      <RecordingsSection target={experiment.modelId ?? experiment.files[0]?.path} pid={running} modelId={experiment.modelId} />
    </Panel>
  )
}
