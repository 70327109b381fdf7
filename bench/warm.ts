// `npm run bench -- warm [FILE] [--runs N]`: warming an evicted multi-GB file with the whole
// `hearth warm` CLI (start-up included) against cat, dd bs=8M and vmtouch -t, alternating, median
// of N runs, with each process's CPU time (user+sys from /usr/bin/time); and the half-resident case.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { warmFile, type WarmEngine } from '../src/main/services/warm/warm-file'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const runsAt = args.indexOf('--runs')
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5
const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ?? '/var/tmp/hearth-bench/warm-3g.bin'
const cli = join(root, 'bin', 'hearth.js')

if (!existsSync(file)) {
  mkdirSync(dirname(file), { recursive: true })
  console.log(`making ${file} (3 GiB of random data, once)…`)
  execFileSync('sh', ['-c', `head -c ${3 * 1024 ** 3} /dev/urandom > ${file}.tmp && sync ${file}.tmp`])
  renameSync(`${file}.tmp`, file)
}
if (!existsSync(join(root, 'out', 'main', 'cli.js'))) {
  console.log('building the CLI (npx electron-vite build)…')
  execFileSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'ignore' })
}
const sizeBytes = statSync(file).size
const halfMiB = Math.floor(sizeBytes / 2 / 2 ** 20)

const evict = () => execFileSync('dd', ['of=/dev/null', 'iflag=nocache', 'count=0', `if=${file}`, 'status=none'])
const makeHalfResident = () => {
  evict()
  execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', `count=${halfMiB}`, 'status=none'])
}
const resident = () => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file]).toString().trim())

interface Sample {
  s: number
  cpuS: number
}
const tools: Record<string, string[]> = {
  hearth: [process.execPath, cli, 'warm', file],
  cat: ['sh', '-c', `cat "${file}" > /dev/null`],
  'dd bs=8M': ['dd', `if=${file}`, 'of=/dev/null', 'bs=8M', 'status=none'],
  'vmtouch -t': ['vmtouch', '-qt', file],
}

function timed(argv: string[]): Sample {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', ...argv], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`)
  const [e, u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number)
  return { s: e, cpuS: u + s }
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y)
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2
}

const cold: Record<string, Sample[]> = Object.fromEntries(Object.keys(tools).map((k) => [k, []]))
const half: Sample[] = []
const names = Object.keys(tools)
console.log(`file ${file}: ${(sizeBytes / 1e9).toFixed(2)} GB, ${runs} runs, order rotated each run`)
for (let run = 0; run < runs; run++) {
  const order = names.map((_, i) => names[(i + run) % names.length])
  for (const name of order) {
    evict()
    const s = timed(tools[name])
    // others share this machine: pressure from them can evict part of the file right after
    const res = resident()
    if (res < sizeBytes * 0.99) console.log(`  note: after ${name} only ${res} of ${sizeBytes} bytes were resident`)
    cold[name].push(s)
  }
  makeHalfResident()
  half.push(timed(tools.hearth))
}

// The engines alone, in this process (no CLI start-up): what the app's backend does.
const engines: Record<string, Sample[]> = { sendfile: [], read: [], populate: [] }
for (let run = 0; run < runs; run++) {
  for (const engine of Object.keys(engines) as WarmEngine[]) {
    evict()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await warmFile(file, { engine, signal: new AbortController().signal, onBytes: () => {} })
    const c = process.cpuUsage(c0)
    engines[engine].push({ s: (performance.now() - t0) / 1000, cpuS: (c.user + c.system) / 1e6 })
  }
}

const gbps = (s: number) => (sizeBytes / s / 1e9).toFixed(2)
for (const name of names) {
  const t = median(cold[name].map((x) => x.s))
  const c = median(cold[name].map((x) => x.cpuS))
  console.log(`${name.padEnd(12)} cold: ${t.toFixed(2)} s (${gbps(t)} GB/s), CPU ${c.toFixed(2)} s`)
}
for (const [engine, xs] of Object.entries(engines)) {
  const t = median(xs.map((x) => x.s))
  console.log(`engine ${engine.padEnd(8)} (in-process) cold: ${t.toFixed(2)} s (${gbps(t)} GB/s), CPU ${median(xs.map((x) => x.cpuS)).toFixed(2)} s`)
}
const h = median(cold.hearth.map((x) => x.s))
const hc = median(cold.hearth.map((x) => x.cpuS))
const hh = median(half.map((x) => x.s))
console.log(`hearth half-resident: ${hh.toFixed(2)} s, CPU ${median(half.map((x) => x.cpuS)).toFixed(2)} s`)
const ratio = (a: number, b: number) => (a / b).toFixed(2)
console.log(`time vs cat: ${ratio(h, median(cold.cat.map((x) => x.s)))} (goal ≤ 1.05)`)
console.log(`time vs dd bs=8M: ${ratio(h, median(cold['dd bs=8M'].map((x) => x.s)))}`)
console.log(`time vs vmtouch -t: ${ratio(h, median(cold['vmtouch -t'].map((x) => x.s)))} (goal ≤ 0.6)`)
console.log(`CPU vs cat: ${hc.toFixed(2)} s vs ${median(cold.cat.map((x) => x.cpuS)).toFixed(2)} s (goal ≤ cat + 10%)`)
console.log(`half-resident / cold: ${ratio(hh, h)} (goal ≤ 0.65)`)
