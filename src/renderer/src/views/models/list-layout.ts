// The models list has two layouts, chosen by the list's own width (a window docked beside an
// editor, or the app at 720 px): wide shows every column and the row actions as buttons; narrow
// folds the format under the name and the row actions into a menu, so the name keeps its room.
import { createContext, useContext, useLayoutEffect, useState, type RefObject } from 'react'

export type ListLayout = 'wide' | 'narrow'

/** The list's width (px) from which everything fits side by side (with the name ≥ ~270 px). */
export const wideListPx = 1200

export const ListLayoutContext = createContext<ListLayout>('wide')

/** The layout of the list this row is in. */
export const useListLayout = (): ListLayout => useContext(ListLayoutContext)

/** Follows the element's width; rows re-render only when the layout flips. */
export function useMeasuredLayout(ref: RefObject<HTMLElement | null>): ListLayout {
  const [layout, setLayout] = useState<ListLayout>('wide')
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const apply = (width: number) => setLayout(width >= wideListPx ? 'wide' : 'narrow')
    apply(el.getBoundingClientRect().width)
    const ro = new ResizeObserver((entries) => apply(entries[0].contentRect.width))
    ro.observe(el)
    return () => ro.disconnect()
  }, [ref])
  return layout
}
