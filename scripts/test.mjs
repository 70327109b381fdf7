#!/usr/bin/env node
// `npm test`: everything CI checks, in order — build, types, lint, unit tests (vitest), UI tests
// (Playwright against `hearth serve` in Debian's Chromium) — then one closing line:
// "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const reports = join(root, 'test-results')
rmSync(reports, { recursive: true, force: true })
mkdirSync(reports, { recursive: true })

function run(label, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${label}: ${cmd} ${args.join(' ')}\n`)
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  process.stdout.write(`=== ${label}: exit ${r.status ?? r.signal} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  return r.status === 0
}

let ok = true
const failures = []
for (const [label, cmd, args] of [
  ['build', 'npx', ['electron-vite', 'build']],
  ['types', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
]) {
  if (!run(label, cmd, args)) {
    ok = false
    failures.push(label)
  }
}

const counts = { passed: 0, failed: 0, skipped: 0 }

const vitestJson = join(reports, 'vitest.json')
if (!run('unit', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`])) {
  ok = false
  failures.push('unit')
}
if (existsSync(vitestJson)) {
  const v = JSON.parse(readFileSync(vitestJson, 'utf8'))
  counts.passed += v.numPassedTests ?? 0
  counts.failed += v.numFailedTests ?? 0
  counts.skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0)
}

const pwJson = join(reports, 'playwright.json')
if (!run('ui', 'npx', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson })) {
  ok = false
  failures.push('ui')
}
if (existsSync(pwJson)) {
  const s = JSON.parse(readFileSync(pwJson, 'utf8')).stats ?? {}
  counts.passed += (s.expected ?? 0) + (s.flaky ?? 0)
  counts.failed += s.unexpected ?? 0
  counts.skipped += s.skipped ?? 0
}

if (failures.length) process.stdout.write(`\nfailed steps: ${failures.join(', ')}\n`)
process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
process.exit(ok && counts.failed === 0 && counts.passed > 0 ? 0 : 1)
