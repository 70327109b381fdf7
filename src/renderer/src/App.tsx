import { Suspense } from 'react'
import { ConnectionBanner } from './components/ConnectionBanner'
import { ThemeToggle, useApplyTheme } from './components/ThemeToggle'
import { views } from './routes'
import { useUi } from './stores/ui'
import { JobsIndicator } from './views/jobs/JobsIndicator'
import { JobsOverlay } from './views/jobs/JobsOverlay'
import { ModelDetail } from './views/models/ModelDetail'

function Nav() {
  const view = useUi((s) => s.route.view)
  const navigate = useUi((s) => s.navigate)
  return (
    <nav className="flex gap-1" aria-label="Views">
      {views.map((v) => (
        <a
          key={v.id}
          href={v.id === 'dashboard' ? '#/' : `#/${v.id}`}
          onClick={(e) => {
            e.preventDefault()
            navigate({ view: v.id })
          }}
          aria-current={view === v.id ? 'page' : undefined}
          data-testid={`nav-${v.id}`}
          className={`rounded-md px-3 py-1 text-sm ${view === v.id ? 'bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900' : 'text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800'}`}
        >
          {v.label}
          {v.badge && <v.badge />}
        </a>
      ))}
    </nav>
  )
}

function Main() {
  const route = useUi((s) => s.route)
  if (route.modelId) return <ModelDetail id={route.modelId} />
  const view = views.find((v) => v.id === route.view) ?? views[0]
  const View = view.component
  return (
    <Suspense fallback={<div className="text-sm text-zinc-500">Loading…</div>}>
      <View />
    </Suspense>
  )
}

export function App() {
  useApplyTheme()
  return (
    <div className="min-h-screen bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
      <ConnectionBanner />
      <header className="sticky top-0 z-10 border-b border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
        <div className="mx-auto flex max-w-7xl items-center gap-6 px-4 py-2.5">
          <div className="flex items-center gap-2 font-semibold">
            <span aria-hidden className="text-orange-500">▲</span> Hearth
          </div>
          <Nav />
          <div className="ml-auto flex items-center gap-3"><JobsIndicator /><ThemeToggle /></div>
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-4">
        <Main />
      </main>
      <JobsOverlay />
    </div>
  )
}
