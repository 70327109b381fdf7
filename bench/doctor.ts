// `npm run bench -- doctor [rounds]`: the Doctor's scan of every process (open files with device,
// inode and link target; mappings) against `lsof -n -w` listing the same (its closest peer), and
// the same scan as the holder check (a dev+ino filter) against `fuser FILE`, in the
// same run, alternating, medians. A full run (every check, minus the one-second refault sample
// that only applies without history) is timed for reference.
import { spawnSync } from 'node:child_process'
import { statSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { scanProcesses } from '../src/main/services/procs'
import { holdersOf } from '../src/main/services/staging/holders'

const rounds = Number(process.argv[2] ?? 7)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const file = join(tmpdir(), `hearth-bench-doctor-${process.pid}`)
writeFileSync(file, 'x')
const st = statSync(file)
const t = { scan: [] as number[], lsof: [] as number[], holders: [] as number[], fuser: [] as number[] }
let processes = 0
const time = async (f: () => unknown) => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['scan', 'lsof', 'holders', 'fuser'] as const) : (['fuser', 'holders', 'lsof', 'scan'] as const)
    for (const k of order) {
      if (k === 'scan') t.scan.push(await time(async () => (processes = (await scanProcesses({ fdTargets: true, fdIds: true, maps: true })).length)))
      if (k === 'lsof') t.lsof.push(await time(() => spawnSync('lsof', ['-n', '-w', '-b'], { stdio: 'ignore' })))
      if (k === 'holders') t.holders.push(await time(() => holdersOf([{ dev: st.dev, ino: st.ino, path: file }])))
      if (k === 'fuser') t.fuser.push(await time(() => spawnSync('fuser', [file], { stdio: 'ignore' })))
    }
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>
  console.log(`processes: ${processes}, rounds: ${rounds} (medians; the machine is shared, compare the ratios)`)
  console.log(`full scan (fds with dev+ino+target, maps): ${m.scan.toFixed(0)} ms   lsof -n -w -b: ${m.lsof.toFixed(0)} ms   ratio ${(m.lsof / m.scan).toFixed(2)}x faster than lsof`)
  console.log(`holder check of one file: ${m.holders.toFixed(0)} ms   fuser FILE: ${m.fuser.toFixed(0)} ms   ratio ${(m.fuser / m.holders).toFixed(2)}x`)
} finally {
  rmSync(file, { force: true })
}
