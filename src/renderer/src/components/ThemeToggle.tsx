import { useEffect, useSyncExternalStore } from 'react'
import { useUi, type Theme } from '../stores/ui'

const next: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' }
const label: Record<Theme, string> = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' }
const icon: Record<Theme, string> = { system: '◐', light: '☀', dark: '☾' }

/** Follows prefers-color-scheme until the user picks light or dark. */
export function useApplyTheme(): void {
  const theme = useUi((s) => s.theme)
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)')
    const apply = () => document.documentElement.classList.toggle('dark', theme === 'dark' || (theme === 'system' && media.matches))
    apply()
    media.addEventListener('change', apply)
    return () => media.removeEventListener('change', apply)
  }, [theme])
}

export function ThemeToggle() {
  const theme = useUi((s) => s.theme)
  const setTheme = useUi((s) => s.setTheme)
  return (
    <button
      type="button"
      data-testid="theme-toggle"
      onClick={() => setTheme(next[theme])}
      title={`${label[theme]} (click to change)`}
      className="rounded-md border border-zinc-300 px-2.5 py-1 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
    >
      <span aria-hidden>{icon[theme]}</span> <span className="text-xs">{theme}</span>
    </button>
  )
}

/** Whether the dark theme is showing now (for colours that CSS cannot reach, like chart fills). */
export function useIsDark(): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const mo = new MutationObserver(onChange)
      mo.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] })
      return () => mo.disconnect()
    },
    () => document.documentElement.classList.contains('dark'),
  )
}
