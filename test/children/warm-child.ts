// Runs one warm or lock as whatever user spawned it and prints the outcome as JSON (for tests
// that need an unprivileged user).
import { statSync } from 'node:fs'
import { HelperClient } from '../../src/main/helper-client'
import { createHub } from '../../src/main/hub'
import { createJobRunner } from '../../src/main/services/jobs'
import { createWarmService } from '../../src/main/services/warm'

const [action, path] = process.argv.slice(2)
const jobs = createJobRunner({ hub: createHub() })
const settings = { get: () => ({ folders: [], pins: [], keepWarmThreshold: 0.95, lockMaxFraction: 0.5, stagingReserveBytes: 0 }), update: async () => settings.get(), file: '' }
const warm = createWarmService({
  jobs,
  settings,
  resolve: async (t) => t.map((p) => ({ path: p, bytes: statSync(p).size })),
  modelResidency: async () => [],
  modelName: () => undefined,
  // As an ordinary user without pkexec this helper is unavailable: the lock error says why.
  helper: new HelperClient(),
})
if (action === 'hold') {
  // lock, report, then hold until stdin closes (what `hearth lock` does until interrupted)
  const [job] = await warm.lock([path])
  const end = await jobs.wait(job.id)
  console.log(JSON.stringify(end.error ?? { code: 'OK', message: end.note }))
  process.stdin.resume()
  await new Promise((ok) => process.stdin.on('end', ok))
  await warm.stop()
  process.exit(0)
}
try {
  const [job] = action === 'lock' ? await warm.lock([path]) : await warm.warm([path])
  const end = await jobs.wait(job.id)
  console.log(JSON.stringify(end.error ?? { code: 'OK', message: end.note }))
} catch (err) {
  const e = err as { code?: string; message: string }
  console.log(JSON.stringify({ code: e.code, message: e.message }))
}
await warm.stop()
