// The request parser under libFuzzer with ASan/UBSan for ~20 s (longer: `npm run bench -- fuzz`).
// Needs clang (apt: clang); without it the test is skipped and says so.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../test/support/helper-harness'

const hasClang = spawnSync('clang', ['--version']).status === 0

describe('request parser fuzzing', () => {
  it.skipIf(!hasClang)('survives 20 s of libFuzzer under ASan/UBSan', () => {
    execFileSync('make', ['-s', '-C', join(repoRoot, 'src/helper'), 'fuzz'], { stdio: 'pipe' })
    const work = mkdtempSync(join(tmpdir(), 'hearth-fuzz-'))
    try {
      const r = spawnSync(
        join(repoRoot, 'build/helper/fuzz-request'),
        ['-max_total_time=20', '-max_len=17000', '-timeout=5', `-artifact_prefix=${work}/`, work, join(repoRoot, 'src/helper/fuzz-corpus')],
        { encoding: 'utf8', timeout: 50_000 },
      )
      expect(r.stderr).toMatch(/Done \d+ runs/)
      expect(r.status, r.stderr.slice(-3000)).toBe(0)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }, 60_000)
})
