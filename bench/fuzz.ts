// `npm run bench -- fuzz [seconds]`: the helper's request parser under libFuzzer with
// ASan/UBSan for longer than the test does (default 300 s). Needs clang.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../test/support/helper-harness'

const seconds = Number(process.argv[2] ?? 300)
execFileSync('make', ['-s', '-C', join(repoRoot, 'src/helper'), 'fuzz'], { stdio: 'inherit' })
const corpus = mkdtempSync(join(tmpdir(), 'hearth-fuzz-corpus-'))
const r = spawnSync(
  join(repoRoot, 'build/helper/fuzz-request'),
  [`-max_total_time=${seconds}`, '-max_len=17000', '-print_final_stats=1', `-artifact_prefix=${corpus}/`, corpus, join(repoRoot, 'src/helper/fuzz-corpus')],
  { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' },
)
const done = /Done (\d+) runs in (\d+) second/.exec(r.stderr)
console.log(done ? `fuzz: ${done[1]} runs in ${done[2]} s, ${r.status === 0 ? 'no crashes' : 'CRASH (see above)'}; corpus kept in ${corpus}` : r.stderr.slice(-3000))
process.exit(r.status ?? 1)
