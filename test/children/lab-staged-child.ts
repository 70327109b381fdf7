// Test child for staged runs: started as root under `unshare -m --propagation private`, so the
// helper's RAM-disk mounts, the lab and its loader all live in one private mount namespace that
// dies with this process. Runs one experiment (cold, then staged) with the built-in loader and
// prints it as JSON, with the Hearth mounts left in this namespace afterwards.
//   unshare -m --propagation private node --import tsx lab-staged-child.ts SCRATCH_DIR MODEL
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HelperClient } from '../../src/main/helper-client'
import { labServices } from '../support/lab-setup'
import { hearthMounts, testHelper } from '../support/helper-harness'

const [scratch, model] = process.argv.slice(2)
for (const d of ['proc-sys', 'sysctl.d']) mkdirSync(join(scratch, d), { recursive: true })
const helper = new HelperClient({
  launch: { command: testHelper, args: ['--test-base', join(scratch, 'base'), '--test-proc-sys', join(scratch, 'proc-sys'), '--test-sysctl-d', join(scratch, 'sysctl.d')] },
})
const { lab, settings } = await labServices(scratch, helper)
await settings.update({ stagingReserveBytes: 256 * 2 ** 20 })
const e = await lab.wait((await lab.run({ target: model, matrix: ['cold', 'staged'], tokens: 2 })).id)
const mountsAfter = hearthMounts(readFileSync('/proc/self/mountinfo', 'utf8'))
console.log(JSON.stringify({ experiment: e, mountsAfter }))
await helper.close()
process.exit(0)
