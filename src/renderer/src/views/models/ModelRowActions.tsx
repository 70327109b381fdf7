import { useEffect, useId, useRef, useState } from 'react'
import type { Model } from '../../../../shared/api'
import { ModelJobActions } from '../jobs/ModelJobActions'
import { useListLayout } from './list-layout'

/**
 * The narrow list's row actions: one "⋯" button opening a menu of the same actions. The menu is a
 * popover (the browser's top layer), so no table or panel edge clips it, and a click outside or
 * Escape closes it; it renders its items only while open, keeping 200 rows cheap.
 */
function RowActionsMenu({ model }: { model: Model }) {
  const id = useId()
  const button = useRef<HTMLButtonElement>(null)
  const menu = useRef<HTMLDivElement>(null)
  const [open, setOpen] = useState(false)

  useEffect(() => {
    const el = menu.current
    if (!el) return
    const onToggle = (e: Event) => setOpen((e as ToggleEvent).newState === 'open')
    el.addEventListener('toggle', onToggle)
    return () => el.removeEventListener('toggle', onToggle)
  }, [])
  // A fixed menu would drift from its row when the page scrolls: close it instead.
  useEffect(() => {
    if (!open) return
    const close = () => menu.current?.hidePopover()
    window.addEventListener('scroll', close, { capture: true, passive: true })
    window.addEventListener('resize', close)
    return () => {
      window.removeEventListener('scroll', close, { capture: true })
      window.removeEventListener('resize', close)
    }
  }, [open])

  /** Under the button, right edges aligned; above it when the window has no room below. */
  const place = () => {
    const b = button.current?.getBoundingClientRect()
    const m = menu.current
    if (!b || !m) return
    m.style.right = `${Math.max(4, window.innerWidth - b.right)}px`
    const below = window.innerHeight - b.bottom > 180
    m.style.top = below ? `${b.bottom + 4}px` : ''
    m.style.bottom = below ? '' : `${window.innerHeight - b.top + 4}px`
  }

  return (
    <>
      <button
        ref={button}
        type="button"
        popoverTarget={id}
        onClick={place}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`Actions for ${model.name}`}
        title={`Warm, evict, lock or pin ${model.name}`}
        data-testid="row-menu"
        className="rounded-md border border-zinc-300 px-2 py-0.5 text-sm leading-none text-zinc-700 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-200 dark:hover:bg-zinc-800"
      >
        ⋯
      </button>
      <div
        ref={menu}
        id={id}
        popover="auto"
        role="menu"
        aria-label={`Actions for ${model.name}`}
        data-testid="row-menu-items"
        className="fixed inset-auto m-0 w-44 rounded-lg border border-zinc-200 bg-white p-1 text-left shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
      >
        {open && <ModelJobActions model={model} size="menu" onDone={() => menu.current?.hidePopover()} />}
      </div>
    </>
  )
}

/**
 * The actions at the end of a model's row (warm, evict, lock, pin): buttons when the list is wide,
 * a menu when it is narrow. A plug-in point: the jobs and staging views fill this in. Keep it
 * cheap: it renders once per row, 200 rows at a time.
 */
export function ModelRowActions(props: { model: Model }) {
  return useListLayout() === 'narrow' ? <RowActionsMenu model={props.model} /> : <ModelJobActions model={props.model} />
}
