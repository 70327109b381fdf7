// The one contract between the backend and every front end (Electron IPC, WebSocket, CLI).
import type { AnyMethodSpec, InputOf, OutputOf } from './contract/define'
import { catalogMethods, type CatalogTopics } from './contract/catalog'
import { residencyMethods, type ResidencyTopics } from './contract/residency'
import { telemetryMethods, type TelemetryTopics } from './contract/telemetry'
import { jobsMethods, type JobsTopics } from './contract/jobs'
import { stagingMethods, type StagingTopics } from './contract/staging'
import { plannerMethods, type PlannerTopics } from './contract/planner'
import { tensorsMethods, type TensorsTopics } from './contract/tensors'
import { doctorMethods, type DoctorTopics } from './contract/doctor'
import { daemonMethods, type DaemonTopics } from './contract/daemon'
import { labMethods, type LabTopics } from './contract/lab'

export const methods = {
  ...catalogMethods,
  ...residencyMethods,
  ...telemetryMethods,
  ...jobsMethods,
  ...stagingMethods,
  ...plannerMethods,
  ...tensorsMethods,
  ...doctorMethods,
  ...daemonMethods,
  ...labMethods,
} satisfies Record<string, AnyMethodSpec>

export type Methods = typeof methods
export type MethodName = keyof Methods

export type Topics = CatalogTopics & ResidencyTopics & TelemetryTopics & JobsTopics & StagingTopics & PlannerTopics & TensorsTopics & DoctorTopics & DaemonTopics & LabTopics
export type TopicName = keyof Topics
/** The topics a transport accepts subscriptions for; checked at runtime on every transport. */
export const topicNames = ['catalog', 'residency', 'memory', 'jobs', 'gpu', 'staging', 'recordings', 'doctor', 'notice', 'lab'] as const satisfies readonly TopicName[]

export type Unsubscribe = () => void

type Call<S> = undefined extends InputOf<S>
  ? (input?: InputOf<S>) => Promise<OutputOf<S>>
  : (input: InputOf<S>) => Promise<OutputOf<S>>

export type HearthApi = {
  [K in MethodName]: Call<Methods[K]>
} & {
  subscribe<T extends TopicName>(topic: T, listener: (event: Topics[T]) => void): Unsubscribe
}

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name)
}
export function isTopicName(name: unknown): name is TopicName {
  return typeof name === 'string' && (topicNames as readonly string[]).includes(name)
}

export type * from './contract/catalog'
export type * from './contract/residency'
export type * from './contract/telemetry'
export type * from './contract/jobs'
export type * from './contract/staging'
export type * from './contract/planner'
export type * from './contract/tensors'
export type * from './contract/doctor'
export type * from './contract/daemon'
export type * from './contract/lab'
export * from './errors'
