// What the model detail shows of issue 11: the live tensor map and the recorder.
import type { Model } from '../../../../shared/api'
import { Panel } from '../../components/Card'
import { RecordingsSection } from './RecordingsSection'
import { TensorMapPanel } from './TensorMapPanel'

export function TensorsPanel({ model }: { model: Model }) {
  if (model.format !== 'gguf') return null
  return (
    <>
      <TensorMapPanel target={model.id} />
      <Panel title="Load-order recorder">
        <RecordingsSection target={model.id} modelId={model.id} />
      </Panel>
    </>
  )
}
