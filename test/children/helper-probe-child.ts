// Test child for residency through the helper: started as root, it starts the test build of the
// helper acting for UID (as pkexec would for a desktop user), then drops to UID for good. From
// then on cachestat refuses files UID neither owns nor may write, as for any ordinary user.
// Commands on stdin, one JSON line out each:
//   fresh PATH     residency service that asks the helper, no answer cache
//   cached PATH    the same with a 60 s answer cache
//   unstarted PATH residency service given a helper client that was never started
//   burst PATH N   N questions in a row to the fresh service (the rate limit must hold them back)
//   node --import tsx helper-probe-child.ts UID SCRATCH_DIR
import { createInterface } from 'node:readline'
import { HelperClient } from '../../src/main/helper-client'
import { startHelperThenBecome } from '../support/helper-harness'
import { createHub } from '../../src/main/hub'
import type { ResidencyHelper } from '../../src/main/services/pagecache/helper-residency'
import { createResidencyService } from '../../src/main/services/pagecache'

const uid = Number(process.argv[2])
const scratch = process.argv[3]
const helper = await startHelperThenBecome(uid, scratch)

let asks = 0
const counted: ResidencyHelper = {
  get running() {
    return helper.running
  },
  requestIfRunning: (...a) => (asks++, helper.requestIfRunning(...a)),
}
const catalog = { current: () => ({ models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }) }
const fresh = createResidencyService({ hub: createHub(), catalog, helper: counted, helperResidency: { cacheMs: 0 } })
const cached = createResidencyService({ hub: createHub(), catalog, helper: counted, helperResidency: { cacheMs: 60_000 } })
const neverStarted = new HelperClient() // would start the real helper (pkexec) if anything asked it to
const unstarted = createResidencyService({ hub: createHub(), catalog, helper: neverStarted })

const print = (x: unknown) => console.log(JSON.stringify(x))
print({ ready: true, uid: process.getuid?.(), helperUid: Number(helper.helloFields.uid) })

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, path, n] = line.split(' ')
  if (cmd === 'fresh') print({ r: (await fresh.ofFiles([{ path, bytes: 0 }]))[0], asks })
  else if (cmd === 'cached') print({ r: await cached.ofFile(path), asks })
  else if (cmd === 'unstarted') print({ r: await unstarted.ofFile(path), started: neverStarted.pid !== undefined })
  else if (cmd === 'burst') {
    const before = asks
    const rs = []
    for (let i = 0; i < Number(n); i++) rs.push(await fresh.ofFile(path))
    print({ methods: [...new Set(rs.map((r) => r.method))], known: rs.filter((r) => r.residentBytes !== null).length, asks: asks - before })
  } else if (cmd === 'exit') break
}
await helper.close()
process.exit(0)
