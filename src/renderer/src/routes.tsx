// The views in the top bar. A view is one line here; its component lives in views/<id>/ and
// "#/<id>" opens it. Views that other work fills in are found by file name, so this file builds
// before they exist: views/<id>/<Name>View.tsx exporting <Name>View (or a default export).
import { lazy, type ComponentType } from 'react'
import { Dashboard } from './views/dashboard/Dashboard'
import { DoctorBadge } from './views/doctor/DoctorBadge'

export interface ViewRoute {
  id: string
  label: string
  component: ComponentType
  /** Shown beside the label in the bar (a count of things needing attention) */
  badge?: ComponentType
}

type ViewModule = { default?: ComponentType } & Record<string, ComponentType | undefined>
const found = import.meta.glob<ViewModule>('./views/*/*View.tsx')

function NotYet({ label }: { label: string }) {
  return <p className="text-sm text-zinc-500">The {label} is not part of this build yet.</p>
}

/** The view at views/<id>/<file>, lazily; `always` keeps the entry in the bar before it exists. */
function optionalView(id: string, file: string, label: string, always = false): ViewRoute[] {
  const load = found[`./views/${id}/${file}.tsx`]
  if (!load) return always ? [{ id, label, component: () => <NotYet label={label} /> }] : []
  const component = lazy(() => load().then((m) => ({ default: (m[file] ?? m.default) as ComponentType })))
  return [{ id, label, component }]
}

export const views: ViewRoute[] = [
  { id: 'dashboard', label: 'Models', component: Dashboard },
  ...optionalView('planner', 'PlannerView', 'Planner', true),
  ...optionalView('staging', 'StagingView', 'RAM disk'),
  ...optionalView('jobs', 'JobsView', 'Jobs'),
  ...optionalView('doctor', 'DoctorView', 'Doctor').map((v) => ({ ...v, badge: DoctorBadge })),
  ...optionalView('settings', 'SettingsView', 'Settings'),
  ...optionalView('lab', 'LabView', 'Lab'),
]
