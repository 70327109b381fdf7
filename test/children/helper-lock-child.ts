// Test child for locking beyond RLIMIT_MEMLOCK: started as root (under `prlimit --memlock=…`), it
// starts the test build of the helper acting for UID (what pkexec gives a desktop session), then
// drops to UID for good, so from here on it is an ordinary user with a small memory-lock limit
// and a root helper beside it. With MODE `nohelper` it drops to UID without any helper (no
// pkexec on its PATH). Then it runs commands from stdin, one JSON line out per line in:
//   lock PATH | unlock PATH | locks | preview | off | exit
// where preview and off are `hearth off --dry-run` and `hearth off` (the staging service).
//   node --import tsx helper-lock-child.ts UID SCRATCH_DIR [helper|nohelper]
import { statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { becomeUser, startHelperThenBecome } from '../support/helper-harness'
import { HelperClient } from '../../src/main/helper-client'
import { createHub } from '../../src/main/hub'
import { createJobRunner } from '../../src/main/services/jobs'
import { createStagingService } from '../../src/main/services/staging'
import { createWarmService } from '../../src/main/services/warm'
import { memlockLimit } from '../../src/main/services/warm/meminfo'
import type { CatalogService } from '../../src/main/context'
import type { SettingsStore } from '../../src/main/settings'

const uid = Number(process.argv[2])
const scratch = process.argv[3]
const withHelper = (process.argv[4] ?? 'helper') === 'helper'
let helper: HelperClient
if (withHelper) helper = await startHelperThenBecome(uid, scratch)
else {
  becomeUser(uid)
  helper = new HelperClient({ env: { PATH: '/nonexistent' } }) // no pkexec: privileged actions unavailable
}

const hub = createHub()
const jobs = createJobRunner({ hub })
const settings = { get: () => ({ folders: [], pins: [], keepWarmThreshold: 0.95, lockMaxFraction: 0.5, stagingReserveBytes: 0 }), update: async () => settings.get(), file: '' }
const resolve = async (t: string[]) => t.map((p) => ({ path: p, bytes: statSync(p).size }))
const warm = createWarmService({ jobs, settings, helper, resolve, modelResidency: async () => [], modelName: () => undefined })
const empty = { models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }
const catalog: CatalogService = { current: () => empty, scan: async () => empty, resolve, start: async () => {}, stop: () => {} }
const staging = createStagingService({ hub, settings: settings as unknown as SettingsStore, catalog, jobs, helper, locks: warm })

const print = (x: unknown) => console.log(JSON.stringify(x))
print({
  ready: true,
  uid: process.getuid?.(),
  helperPid: Number(helper.helloFields.pid ?? 0),
  helperUid: Number(helper.helloFields.uid ?? -1),
  helperAvailable: helper.status().available,
  memlock: await memlockLimit(),
})

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, path] = line.split(' ')
  try {
    if (cmd === 'lock') {
      const [job] = await warm.lock([path])
      const end = await jobs.wait(job.id)
      print(end.error ? { code: end.error.code, message: end.error.message } : { code: 'OK', note: end.note, locks: warm.locks() })
    } else if (cmd === 'unlock') print({ code: 'OK', locks: await warm.unlock([path]) })
    else if (cmd === 'locks') print({ code: 'OK', locks: warm.locks() })
    else if (cmd === 'preview') print({ code: 'OK', preview: await staging.offPreview() })
    else if (cmd === 'off') print({ code: 'OK', off: await staging.off(), locks: warm.locks() })
    else if (cmd === 'exit') break
  } catch (err) {
    const e = err as { code?: string; message: string }
    print({ code: e.code, message: e.message })
  }
}
await warm.stop()
await helper.close()
process.exit(0)
