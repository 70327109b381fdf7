import { useEffect } from 'react'
import { startDoctorSync, useDoctor } from './store'

/** On the nav: how many findings need attention (red when any fails). Nothing when all is well. */
export function DoctorBadge() {
  useEffect(startDoctorSync, [])
  const counts = useDoctor((s) => {
    const f = s.report?.findings ?? []
    return `${f.filter((x) => x.status === 'fail').length}:${f.filter((x) => x.status === 'warn').length}`
  })
  const [fail, warn] = counts.split(':').map(Number)
  if (fail + warn === 0) return null
  return (
    <span
      data-testid="doctor-badge"
      data-fail={fail}
      data-warn={warn}
      title={`${fail} failing, ${warn} warning${warn === 1 ? '' : 's'}`}
      className={`ml-1.5 inline-flex min-w-5 items-center justify-center rounded-full px-1.5 text-[11px] leading-5 font-semibold text-white ${fail > 0 ? 'bg-red-600' : 'bg-amber-500'}`}
    >
      {fail + warn}
    </span>
  )
}
