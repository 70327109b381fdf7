// The privileged helper and RAM-disk staging (issue: stage, unstage, off, inotify).
export const stagingMethods = {}
export interface StagingTopics {}
