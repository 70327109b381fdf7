import { useEffect } from 'react'
import { Panel } from '../../components/Card'
import { TmpfsUsageBar } from './TmpfsUsageBar'
import { UndoEverythingButton, UndoEverythingDetails, useUndoEverything } from './UndoEverything'
import { startStagingSync, useStaging } from './store'

/** The RAM disk at a glance: usage, why privileged actions are off when they are, and undo. */
export function StagingPanel() {
  useEffect(startStagingSync, [])
  const s = useStaging((x) => x.state)
  const undo = useUndoEverything()
  return (
    <Panel title="RAM disk" right={<UndoEverythingButton undo={undo} />}>
      <UndoEverythingDetails undo={undo} />
      {s && !s.privilege.available ? (
        <p className="text-xs text-zinc-500" data-testid="privilege-reason">Staging is unavailable: {s.privilege.reason}</p>
      ) : (
        <>
          <TmpfsUsageBar />
          {s && (
            <p className="mt-1 text-xs text-zinc-500" data-testid="admin-note">
              {s.admin.available
                ? "Files of other users (such as the Ollama service's) are frozen for their owner while staged: Hearth asks for an administrator's password each time."
                : `Files of other users (such as the Ollama service's) are refused: ${s.admin.reason}`}
            </p>
          )}
        </>
      )}
    </Panel>
  )
}
