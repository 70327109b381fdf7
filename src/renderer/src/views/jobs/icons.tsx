// Small stroke icons for the job buttons (16 px, currentColor), drawn here: no icon font to load.
const paths = {
  warm: 'M8 1.8c.6 2.4 3.6 3.9 3.6 7.4a3.6 3.6 0 0 1-7.2 0c0-1.5.7-2.6 1.5-3.3.2 1.1.8 1.8 1.6 2.1C7.1 5.7 7.5 3.7 8 1.8z',
  evict: 'M8 2.5v7m0 0L5 6.5m3 3 3-3M3 13h10',
  lock: 'M4 7.5h8a.5.5 0 0 1 .5.5v5a.5.5 0 0 1-.5.5H4a.5.5 0 0 1-.5-.5V8a.5.5 0 0 1 .5-.5zM5.5 7.5V5.5a2.5 2.5 0 0 1 5 0v2',
  unlock: 'M4 7.5h8a.5.5 0 0 1 .5.5v5a.5.5 0 0 1-.5.5H4a.5.5 0 0 1-.5-.5V8a.5.5 0 0 1 .5-.5zM5.5 7.5V5.5a2.5 2.5 0 0 1 4.9-.7',
  pin: 'M6 2h4M6.8 2l-.6 4.2L4 8.8h8L9.8 6.2 9.2 2M8 8.8V14',
  close: 'M4.5 4.5l7 7m0-7l-7 7',
} as const

export type IconName = keyof typeof paths

export function Icon({ name, className = 'h-3.5 w-3.5' }: { name: IconName; className?: string }) {
  return (
    <svg viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth={1.5} strokeLinecap="round" strokeLinejoin="round" className={className} aria-hidden>
      <path d={paths[name]} />
    </svg>
  )
}
