// More sections of the Lab view, below the results. The load-order recorder (issue 11) mounts here
// after merging: add its component to `labSections`. Each gets the experiment and run being looked
// at; a run carries its loader's pid and start/end times (startedAtMs, loadStartedAtMs,
// endedAtMs), so a recorder can follow it.
import type { ComponentType } from 'react'
import type { LabExperiment, LabRun } from '../../../../shared/api'

export interface LabSectionProps {
  experiment: LabExperiment | null
  run: LabRun | null
}

export const labSections: ComponentType<LabSectionProps>[] = []
