// `npm run bench -- stage [GiB] [rounds]`: staging an evicted multi-GB file through the helper,
// against `cp` into a tmpfs with the same options (huge=within_size) and `cat` of the same evicted
// file to /dev/null, in the same run, alternating, medians. Goal: ≥2× cp, within 10% of cat.
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { buildHelper, openNamespace } from '../test/support/helper-harness'

const gib = Number(process.argv[2] ?? 3)
const rounds = Number(process.argv[3] ?? 3)
const bytes = Math.round(gib * 2 ** 30)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

buildHelper()
const ns = await openNamespace()
const file = join('/var/tmp', `hearth-bench-stage-${process.pid}.gguf`)
try {
  const block = randomBytes(64 << 20)
  block.write('GGUF', 0, 'latin1') // the helper stages model files only
  block.writeUInt32LE(3, 4)
  const fd = openSync(file, 'w')
  for (let done = 0; done < bytes; done += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - done))
  closeSync(fd)
  spawnSync('sync')
  const evict = () => spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'])
  const inside = (cmd: string) => {
    const r = spawnSync('nsenter', ['-t', String(ns.pid), '-m', '--', 'sh', '-c', cmd], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`)
  }
  const peerDir = join(ns.dir, 'peer')
  inside(`mkdir -p ${peerDir} && mount -t tmpfs -o size=${bytes + (64 << 20)},mode=0700,huge=within_size,nosuid,nodev peer ${peerDir}`)
  const helper = ns.helper()
  const timings = { stage: [] as number[], cp: [] as number[], cat: [] as number[] }
  const runs: Record<keyof typeof timings, () => Promise<void>> = {
    stage: async () => {
      await helper.request('stage', { path: file, reserve: String(2 ** 30) })
    },
    cp: async () => inside(`cp ${file} ${peerDir}/copy`),
    cat: async () => inside(`cat ${file} > /dev/null`),
  }
  const cleanups: Record<keyof typeof timings, () => Promise<void>> = {
    stage: async () => void (await helper.request('off')),
    cp: async () => rmSync(ns.inside(`${peerDir}/copy`)),
    cat: async () => {},
  }
  for (let r = 0; r < rounds; r++) {
    const order = (['stage', 'cp', 'cat'] as const).slice()
    for (let i = 0; i < r % 3; i++) order.push(order.shift()!)
    for (const name of order) {
      evict()
      const t0 = performance.now()
      await runs[name]()
      timings[name].push((performance.now() - t0) / 1000)
      await cleanups[name]()
    }
  }
  const rate = (s: number) => (bytes / s / 1e9).toFixed(2)
  const [s, c, k] = [median(timings.stage), median(timings.cp), median(timings.cat)]
  console.log(`stage bench: ${gib} GiB evicted file, ${rounds} rounds, medians`)
  console.log(`  hearth stage ${s.toFixed(2)} s (${rate(s)} GB/s)   cp ${c.toFixed(2)} s (${rate(c)} GB/s)   cat ${k.toFixed(2)} s (${rate(k)} GB/s)`)
  console.log(`  stage vs cp: ${(c / s).toFixed(2)}x faster (goal >= 2x)   stage vs cat: ${(s / k).toFixed(2)}x the time of cat (goal <= 1.10)`)
  await helper.close()
} finally {
  rmSync(file, { force: true })
  await ns.dispose()
}
