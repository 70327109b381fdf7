// `npm run bench -- NAME [args]` runs bench/NAME.ts. Each benchmark prints ratios against a peer
// (vmtouch, fincore, cp, dd, cat) measured in the same run; absolute speeds here swing too much.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const names = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.includes('.test.') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
// Names that are not a file's: `run` is the load lab's (this file is the dispatcher).
const aliases: Record<string, string> = { run: 'lab-run' }
const [asked, ...rest] = process.argv.slice(2)
const name = aliases[asked] ?? asked
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args]\n  NAME is one of: ${[...Object.keys(aliases), ...names].join(', ') || '(none yet)'}`)
  process.exit(2)
}
const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`), ...rest], { stdio: 'inherit' })
process.exit(r.status ?? 1)
