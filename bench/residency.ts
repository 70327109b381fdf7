// `npm run bench -- residency`: residency of 100 sparse 10 GiB files (1 TB), fully cold and then
// partly warm, by Hearth (cachestat) against fincore and vmtouch (mincore walks) in the same run.
// (a) in-process: Hearth's service call vs the peers' whole runs; (b) whole CLI runs, start-up
// included. The files are sparse, so they cost no disk; what the reads cache is evicted after.
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHub } from '../src/main/hub'
import { createResidencyService } from '../src/main/services/pagecache'
import { FADV, fadvise } from '../src/main/sys/fadvise'
import { pageSizeBytes } from '../src/main/sys/cachestat'

const GiB = 1 << 30
const MiB = 1 << 20
const FILES = 100
const FILE_BYTES = 10 * GiB
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

for (const tool of ['fincore', 'vmtouch']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench residency: ${tool} is missing (apt-get install -y ${tool === 'fincore' ? 'util-linux' : 'vmtouch'})`)
    process.exit(1)
  }
}

// In the temp dir (ext4 here, the filesystem of the repo); tmpfs would not cache read holes.
const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-residency-'))
const files = Array.from({ length: FILES }, (_, i) => join(dir, `model-${String(i).padStart(3, '0')}.gguf`))
const evictAll = () => {
  for (const f of files) {
    if (!existsSync(f)) continue
    const fd = openSync(f, 'r')
    fadvise(fd, 0, 0, FADV.DONTNEED)
    closeSync(fd)
  }
}
const cleanup = () => {
  evictAll()
  rmSync(dir, { recursive: true, force: true })
}
process.on('SIGINT', () => {
  cleanup()
  process.exit(130)
})

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0))
const ratio = (peer: number, ours: number) => `${Math.round(peer / ours)}x`

function timed(cmd: string, args: string[]): { ms: number; stdout: string } {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MiB, cwd: root })
  const took = ms(t0)
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(0, 500)}`)
  return { ms: took, stdout: r.stdout }
}

const builtCli = join(root, 'out', 'main', 'cli.js')
let cliBroken: string | null = null
function cliRun(): { ms: number; residentBytes: number; how: string } {
  const total = (stdout: string) => (JSON.parse(stdout) as { residentBytes: number | null }[]).reduce((a, f) => a + (f.residentBytes ?? 0), 0)
  if (existsSync(builtCli) && !cliBroken) {
    try {
      const r = timed(process.execPath, [join(root, 'bin', 'hearth.js'), 'status', '--json', ...files])
      return { ms: r.ms, residentBytes: total(r.stdout), how: 'node bin/hearth.js status --json' }
    } catch (err) {
      cliBroken = (err as Error).message.split('\n')[0]
      console.log(`  (the built CLI failed, so the stand-in is timed instead: ${cliBroken})`)
    }
  }
  const r = timed(process.execPath, ['--import', 'tsx', join(root, 'bench', '_residency-cli.ts'), ...files])
  const why = cliBroken ? 'the built CLI fails' : 'out/main/cli.js is not built'
  return { ms: r.ms, residentBytes: total(r.stdout), how: `stand-in, ${why}: node --import tsx bench/_residency-cli.ts` }
}

async function phase(label: string): Promise<void> {
  const service = createResidencyService({ hub: createHub(), catalog: { current: () => ({ models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }) } })
  const targets = files.map((path) => ({ path, bytes: FILE_BYTES }))
  await service.ofFiles(targets.slice(0, 1)) // loads libc and detects the probe, once per process
  const runs: number[] = []
  let hearthBytes = 0
  for (let i = 0; i < 7; i++) {
    const t0 = process.hrtime.bigint()
    const r = await service.ofFiles(targets)
    runs.push(ms(t0))
    hearthBytes = r.reduce((a, f) => a + (f.residentBytes ?? 0), 0)
  }
  const hearthMs = median(runs)

  // Each peer's answer must lie between Hearth's readings just before and just after it (equal
  // when nothing moves): other processes on a shared machine may evict pages while the peers walk
  // 1 TB of mappings.
  const sum = async () => (await service.ofFiles(targets)).reduce((a, f) => a + (f.residentBytes ?? 0), 0)
  const checks: { peer: string; bytes: number; before: number; after: number }[] = []
  const bracket = async <T>(peer: string, run: () => T, bytesOf: (r: T) => number): Promise<T> => {
    const before = await sum()
    const r = run()
    checks.push({ peer, bytes: bytesOf(r), before, after: await sum() })
    return r
  }
  const fincore = await bracket('fincore', () => timed('fincore', ['--bytes', '--noheadings', '--output', 'RES', ...files]), (r) =>
    r.stdout.trim().split('\n').reduce((a, l) => a + Number(l), 0),
  )
  const vmtouch = await bracket('vmtouch', () => timed('vmtouch', files), (r) => {
    const m = /Resident Pages:\s+(\d+)\//.exec(r.stdout)
    return m ? Number(m[1]) * pageSizeBytes() : NaN
  })
  const cli: ReturnType<typeof cliRun>[] = []
  for (let i = 0; i < 5; i++) cli.push(await bracket('CLI', cliRun, (r) => r.residentBytes))
  const cliMs = median(cli.map((c) => c.ms))

  const within = (c: (typeof checks)[number]) => Math.min(c.before, c.after) <= c.bytes && c.bytes <= Math.max(c.before, c.after)
  const agree = checks.every(within)
  console.log(
    `residency ${label}: hearth ${fmt(hearthMs)} ms, fincore ${fmt(fincore.ms)} ms (${ratio(fincore.ms, hearthMs)}), ` +
      `vmtouch ${fmt(vmtouch.ms)} ms (${ratio(vmtouch.ms, hearthMs)})  [in-process, ${service.method}]`,
  )
  console.log(
    `residency ${label} CLI: hearth ${fmt(cliMs)} ms, fincore ${fmt(fincore.ms)} ms (${ratio(fincore.ms, cliMs)}), ` +
      `vmtouch ${fmt(vmtouch.ms)} ms (${ratio(vmtouch.ms, cliMs)})  [whole runs, median of ${cli.length}; ${cli[0].how}]`,
  )
  const shown = checks.filter((c, i) => c.peer !== 'CLI' || i === 2)
  console.log(
    `  resident bytes: hearth ${hearthBytes}; ` +
      shown.map((c) => `${c.peer} ${c.bytes}${c.before === c.after ? '' : ` (hearth ${c.before}→${c.after} around it)`}`).join(', ') +
      ` → ${agree ? 'agree' : `DISAGREE: ${JSON.stringify(checks.filter((c) => !within(c)))}`}`,
  )
  if (!agree) process.exitCode = 1
}

try {
  for (const f of files) {
    const fd = openSync(f, 'w')
    ftruncateSync(fd, FILE_BYTES)
    closeSync(fd)
  }
  evictAll()
  console.log(`${FILES} sparse files × ${FILE_BYTES / GiB} GiB = ${(FILES * FILE_BYTES) / 1e12} TB in ${dir}`)
  const nodeFloorMs = median([0, 1, 2, 3, 4].map(() => timed(process.execPath, ['-e', '0']).ms))
  console.log(`node start-up alone (the floor of any Node CLI run): ${fmt(nodeFloorMs)} ms`)
  await phase('cold')

  // Partly warm: 320 MiB over 10 files, in two ranges each (holes read as zeros and get cached).
  const buf = Buffer.allocUnsafe(4 * MiB)
  for (let i = 0; i < FILES; i += 10) {
    const fd = openSync(files[i], 'r')
    for (const start of [i * 37 * MiB, FILE_BYTES - 64 * MiB]) {
      for (let off = start; off < start + 16 * MiB; off += buf.length) readSync(fd, buf, 0, buf.length, off)
    }
    closeSync(fd)
  }
  await phase('partly warm')
} finally {
  cleanup()
}
