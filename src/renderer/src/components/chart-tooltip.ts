// One look for every chart's tooltip, in both themes: recharts draws a white box with inherited
// text by default, which in the dark theme is a glaring box with light grey text on white.
import { useMemo, type CSSProperties } from 'react'
import { useIsDark } from './ThemeToggle'

export interface TooltipStyle {
  contentStyle: CSSProperties
  labelStyle: CSSProperties
  wrapperStyle: CSSProperties
}

/** Spread onto recharts' <Tooltip>: a zinc card that follows the theme. */
export function useTooltipStyle(): TooltipStyle {
  const dark = useIsDark()
  return useMemo(
    () => ({
      contentStyle: {
        fontSize: 12,
        borderRadius: 8,
        background: dark ? '#18181b' : '#ffffff',
        border: `1px solid ${dark ? '#3f3f46' : '#e4e4e7'}`,
        color: dark ? '#e4e4e7' : '#18181b',
      },
      labelStyle: { color: dark ? '#a1a1aa' : '#52525b' },
      wrapperStyle: { outline: 'none' },
    }),
    [dark],
  )
}
