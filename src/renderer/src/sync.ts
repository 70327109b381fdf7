// Keeps the stores in step with the backend: subscribe first, then fetch the initial picture, so
// nothing that happens in between is lost; after a reconnect, fetch again.
import { hearth, onReconnect } from './hearth'
import { useCatalog } from './stores/catalog'
import { useResidency } from './stores/residency'
import { useMemory } from './stores/memory'
import { fetchJobs, startJobsSync } from './stores/jobs'

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function fetchPicture(): Promise<void> {
  const api = hearth()
  await Promise.all([
    api.catalog().then(useCatalog.getState().setCatalog, (e) => useCatalog.getState().setLoadError(message(e))),
    api.modelResidency().then(useResidency.getState().setAll, (e) => console.error('modelResidency:', e)),
    api.memoryHistory().then(useMemory.getState().add, (e) => console.error('memoryHistory:', e)),
  ])
}

export function startSync(): void {
  const api = hearth()
  api.subscribe('catalog', (c) => {
    useCatalog.getState().setCatalog(c)
    // A new scan may add or drop models: take the whole residency picture again.
    api.modelResidency().then(useResidency.getState().setAll, (e) => console.error('modelResidency:', e))
  })
  api.subscribe('residency', (u) => useResidency.getState().apply(u))
  api.subscribe('memory', (m) => useMemory.getState().add([m]))
  startJobsSync()
  void fetchPicture()
  onReconnect(() => {
    void fetchPicture()
    void fetchJobs()
  })
}
