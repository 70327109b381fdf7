// More sections of the Lab view, below the results (the load-order recorder). Each gets the
// experiment and run being looked at; a run carries its loader's pid and start/end times (startedAtMs, loadStartedAtMs,
// endedAtMs), so a recorder can follow it.
import type { ComponentType } from 'react'
import type { LabExperiment, LabRun } from '../../../../shared/api'
import { LoadOrderSection } from './LoadOrderSection'

export interface LabSectionProps {
  experiment: LabExperiment | null
  run: LabRun | null
}

export const labSections: ComponentType<LabSectionProps>[] = [LoadOrderSection]
