export { createJobRunner, type JobRunner, type JobSpec, type JobProgress, type JobHandle } from './runner'
export { deviceKeyOf, deviceKeyOfDev } from './device'
