import type { Model } from '../../../../shared/api'
import { useActiveJobOf, useIsBusy, useIsLocked, useIsPinned } from '../../stores/jobs'
import { evictModel, lockModel, pinModel, unlockModel, warmModel } from './actions'
import { Icon, type IconName } from './icons'

function ActionButton({ icon, label, title, onClick, disabled, testId, size }: {
  icon: IconName
  label: string
  title: string
  onClick: () => void
  disabled?: boolean
  testId: string
  size: 'row' | 'detail' | 'menu'
}) {
  return (
    <button
      type="button"
      onClick={onClick}
      disabled={disabled}
      title={title}
      data-testid={testId}
      role={size === 'menu' ? 'menuitem' : undefined}
      className={
        size === 'menu'
          ? 'flex w-full items-center gap-2 rounded px-2.5 py-1.5 text-left text-sm text-zinc-700 hover:bg-zinc-100 disabled:cursor-default disabled:opacity-40 disabled:hover:bg-transparent dark:text-zinc-200 dark:hover:bg-zinc-800'
          : `inline-flex items-center gap-1 rounded-md border border-zinc-300 text-zinc-700 hover:bg-zinc-100 disabled:cursor-default disabled:opacity-40 disabled:hover:bg-transparent dark:border-zinc-700 dark:text-zinc-200 dark:hover:bg-zinc-800 ${
              size === 'row' ? 'px-1.5 py-0.5 text-xs' : 'px-2.5 py-1 text-sm'
            }`
      }
    >
      <Icon name={icon} className={size === 'detail' ? 'h-4 w-4' : 'h-3.5 w-3.5'} />
      {label}
    </button>
  )
}

/**
 * Warm / Evict / Lock (Unlock) / Pin (Unpin) for one model: in its row, in its detail header, or
 * as the items of its row menu (`menu`; `onDone` closes the menu after a choice).
 */
export function ModelJobActions({ model, size = 'row', onDone }: { model: Model; size?: 'row' | 'detail' | 'menu'; onDone?: () => void }) {
  const job = useActiveJobOf(model.id)
  const busy = useIsBusy(model.id)
  const locked = useIsLocked(model.id)
  const pinned = useIsPinned(model.id)
  const warming = job !== undefined && (job.kind === 'warm' || job.kind === 'rewarm')
  const done = (run: () => void) => () => {
    onDone?.()
    run()
  }
  return (
    <div className={size === 'menu' ? 'flex flex-col' : 'inline-flex items-center gap-1'} data-testid="job-actions">
      <ActionButton
        size={size}
        icon="warm"
        label="Warm"
        title={warming ? `${model.name} is being warmed` : `Read ${model.name} into RAM (only the parts not already there)`}
        onClick={done(() => void warmModel(model.id, model.name))}
        disabled={busy || warming}
        testId="action-warm"
      />
      <ActionButton
        size={size}
        icon="evict"
        label="Evict"
        title={`Drop ${model.name} from the page cache (stops a warm of it first)`}
        onClick={done(() => void evictModel(model.id, model.name))}
        disabled={busy}
        testId="action-evict"
      />
      {locked ? (
        <ActionButton size={size} icon="unlock" label="Unlock" title={`Let memory pressure evict ${model.name} again`} onClick={done(() => void unlockModel(model.id, model.name))} disabled={busy} testId="action-unlock" />
      ) : (
        <ActionButton
          size={size}
          icon="lock"
          label="Lock"
          title={`Hold ${model.name} in RAM (mlock) so memory pressure cannot evict it`}
          onClick={done(() => void lockModel(model.id, model.name))}
          disabled={busy || job?.kind === 'lock'}
          testId="action-lock"
        />
      )}
      {pinned ? (
        <ActionButton size={size} icon="pin" label="Unpin" title={`Stop keeping ${model.name} warm`} onClick={done(() => void pinModel(model.id, model.name, false))} disabled={busy} testId="action-unpin" />
      ) : (
        <ActionButton
          size={size}
          icon="pin"
          label="Pin"
          title={`Keep ${model.name} warm: re-read it at low priority when its residency drops`}
          onClick={done(() => void pinModel(model.id, model.name, true))}
          disabled={busy}
          testId="action-pin"
        />
      )}
    </div>
  )
}

/** "Pinned" and "Locked" chips beside a model's name; icons only (named on hover) where room is short. */
export function ModelJobBadges({ modelId, iconsOnly = false }: { modelId: string; iconsOnly?: boolean }) {
  const locked = useIsLocked(modelId)
  const pinned = useIsPinned(modelId)
  if (!locked && !pinned) return null
  const chip = 'inline-flex items-center gap-0.5 rounded px-1 text-[10px] font-semibold tracking-wide uppercase'
  return (
    <span className="inline-flex shrink-0 gap-1 align-middle">
      {locked && (
        <span data-testid="badge-locked" title="Locked in RAM (mlock)" aria-label="Locked" className={`${chip} bg-violet-100 text-violet-800 dark:bg-violet-900/60 dark:text-violet-200`}>
          <Icon name="lock" className="h-2.5 w-2.5" />
          {!iconsOnly && 'Locked'}
        </span>
      )}
      {pinned && (
        <span data-testid="badge-pinned" title="Kept warm: re-read when its residency drops" aria-label="Pinned" className={`${chip} bg-amber-100 text-amber-800 dark:bg-amber-900/60 dark:text-amber-200`}>
          <Icon name="pin" className="h-2.5 w-2.5" />
          {!iconsOnly && 'Pinned'}
        </span>
      )}
    </span>
  )
}
