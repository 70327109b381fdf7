// Run by the permission-trap tests as a user who neither owns nor may write FILE:
//   setpriv --reuid=U --regid=G --clear-groups node --import tsx probe-as-other-user.ts FILE
// Prints what each layer answers, as JSON, so the test can compare the lie with Hearth's answer.
import { closeSync, openSync, statSync } from 'node:fs'
import { cachestat, CachestatError, pageSizeBytes } from '../../src/main/sys/cachestat'
import { mincorePages } from '../../src/main/sys/mincore'
import { createResidencyService } from '../../src/main/services/pagecache'
import { createHub } from '../../src/main/hub'

const file = process.argv[2]
const fd = openSync(file, 'r')
let cachestatFailure: string | null = null
try {
  cachestat(fd)
} catch (err) {
  cachestatFailure = err instanceof CachestatError ? err.failure : String(err)
}
const rawMincoreBytes = mincorePages(fd, statSync(file).size) * pageSizeBytes()
closeSync(fd)

const catalog = { current: () => ({ models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }) }
const viaCachestat = await createResidencyService({ hub: createHub(), catalog, method: 'cachestat' }).ofFile(file)
const viaMincore = await createResidencyService({ hub: createHub(), catalog, method: 'mincore' }).ofFile(file)
const heat = await createResidencyService({ hub: createHub(), catalog, method: 'mincore' })
  .heatStrip(file, 4)
  .then(() => 'answered', (err: { code?: string }) => err.code ?? 'threw')

console.log(JSON.stringify({ uid: process.getuid?.(), cachestatFailure, rawMincoreBytes, viaCachestat, viaMincore, heat }))
