import { useCatalog } from '../../stores/catalog'
import { EmptyState } from '../models/EmptyState'
import { ModelList } from '../models/ModelList'
import { SourcesPanel } from '../models/Sources'
import { MemoryCards } from './MemoryCards'
import { MemoryChart } from './MemoryChart'
import { RatesPanel } from './RatesPanel'
import { StagingPanel } from '../staging/StagingPanel'
import { useStaging } from '../staging/store'

function Models() {
  const catalog = useCatalog((s) => s.catalog)
  const loadError = useCatalog((s) => s.loadError)
  if (loadError && !catalog) return <p role="alert" className="text-sm text-red-600">Could not read the catalog: {loadError}</p>
  if (!catalog) return <div className="h-40 animate-pulse rounded-xl bg-zinc-200 dark:bg-zinc-800" />
  if (catalog.models.length === 0) return <EmptyState catalog={catalog} />
  return (
    <>
      <ModelList />
      <SourcesPanel />
    </>
  )
}

export function Dashboard() {
  // While anything sits in the RAM disk, its panel (usage, undo) comes before the list.
  const anyStaged = useStaging((x) => (x.state?.staged.length ?? 0) > 0)
  return (
    <div className="space-y-4" data-testid="dashboard">
      <MemoryCards />
      <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_18rem]">
        <MemoryChart />
        <RatesPanel />
      </div>
      {anyStaged && <StagingPanel />}
      <Models />
      {!anyStaged && <StagingPanel />}
    </div>
  )
}
