// Test child for locking beyond RLIMIT_MEMLOCK: started as root (under `prlimit --memlock=…`), it
// starts the test build of the helper acting for UID (what pkexec gives a desktop session), then
// drops to UID for good, so from here on it is an ordinary user with a small memory-lock limit
// and a root helper beside it. Then it runs commands from stdin, one JSON line out per line in:
//   lock PATH | unlock PATH | locks | off | exit
//   node --import tsx helper-lock-child.ts UID SCRATCH_DIR
import { statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { startHelperThenBecome } from '../support/helper-harness'
import { createHub } from '../../src/main/hub'
import { createJobRunner } from '../../src/main/services/jobs'
import { createWarmService } from '../../src/main/services/warm'
import { memlockLimit } from '../../src/main/services/warm/meminfo'

const uid = Number(process.argv[2])
const scratch = process.argv[3]
const helper = await startHelperThenBecome(uid, scratch)

const jobs = createJobRunner({ hub: createHub() })
const settings = { get: () => ({ folders: [], pins: [], keepWarmThreshold: 0.95, lockMaxFraction: 0.5, stagingReserveBytes: 0 }), update: async () => settings.get(), file: '' }
const warm = createWarmService({
  jobs,
  settings,
  helper,
  resolve: async (t) => t.map((p) => ({ path: p, bytes: statSync(p).size })),
  modelResidency: async () => [],
  modelName: () => undefined,
})

const print = (x: unknown) => console.log(JSON.stringify(x))
print({ ready: true, uid: process.getuid?.(), helperPid: Number(helper.helloFields.pid), helperUid: Number(helper.helloFields.uid), memlock: await memlockLimit() })

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, path] = line.split(' ')
  try {
    if (cmd === 'lock') {
      const [job] = await warm.lock([path])
      const end = await jobs.wait(job.id)
      print(end.error ? { code: end.error.code, message: end.error.message } : { code: 'OK', note: end.note, locks: warm.locks() })
    } else if (cmd === 'unlock') print({ code: 'OK', locks: await warm.unlock([path]) })
    else if (cmd === 'locks') print({ code: 'OK', locks: warm.locks() })
    else if (cmd === 'off') print({ code: 'OK', off: (await helper.request('off')).fields, locks: warm.locks() })
    else if (cmd === 'exit') break
  } catch (err) {
    const e = err as { code?: string; message: string }
    print({ code: e.code, message: e.message })
  }
}
await warm.stop()
await helper.close()
process.exit(0)
