import { Toasts } from './Toasts'
import { WarmConfirmDialog } from './WarmConfirmDialog'

/** What the jobs UI shows over every view: the warm confirmation and the toasts. */
export function JobsOverlay() {
  return (
    <>
      <WarmConfirmDialog />
      <Toasts />
    </>
  )
}
