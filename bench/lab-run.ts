// `npm run bench -- run [GB] [repeat]`: load times of one generated model (1.7 GB by default, real
// zero bytes) with the built-in loader (real llama.cpp), cold / warm / staged, against `dd` reading
// the same evicted file in the same run (the disk's own speed here). Staged needs root: the bench
// then runs itself in a private mount namespace with the checkout's helper, so nothing outlives it.
// These are the figures the README quotes; absolute times on a shared machine swing a lot.
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { HelperClient } from '../src/main/helper-client'
import { buildHelper, testHelper } from '../test/support/helper-harness'
import { labServices, noHelper } from '../test/support/lab-setup'
import { writeGguf } from '../test/helpers/gguf-writer'
import { loadableLlamaShape } from '../test/helpers/model-shapes'
import type { LabMode } from '../src/shared/api'

const root = process.getuid?.() === 0
if (root && process.env.HEARTH_BENCH_NS !== '1') {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, '--import', 'tsx', ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, HEARTH_BENCH_NS: '1' } })
  process.exit(r.status ?? 1)
}

const layers = Math.max(2, Math.round((Number(process.argv[2] ?? 1.7) / 1.7) * 24))
const repeat = Number(process.argv[3] ?? 2)
const dir = join('/var/tmp', `hearth-bench-lab-${process.pid}`) // a disk, not a tmpfs
mkdirSync(dir, { recursive: true })
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
let helper: HelperClient | null = null
try {
  const model = join(dir, 'bench Q8_0.gguf')
  const w = await writeGguf(model, loadableLlamaShape({ layers, embd: 2048, ff: 8192, heads: 16, headsKv: 16, fileType: 'Q8_0', name: 'lab bench' }))
  spawnSync('sync', [model])
  const gb = (w.bytes / 1e9).toFixed(2)
  if (root) {
    buildHelper()
    const scratch = join(dir, 'helper')
    for (const d of ['proc-sys', 'sysctl.d']) mkdirSync(join(scratch, d), { recursive: true })
    helper = new HelperClient({ launch: { command: testHelper, args: ['--test-base', join(scratch, 'base'), '--test-proc-sys', join(scratch, 'proc-sys'), '--test-sysctl-d', join(scratch, 'sysctl.d')] } })
  }
  const { lab, settings } = await labServices(dir, helper ?? noHelper)
  await settings.update({ stagingReserveBytes: 2 ** 30 })
  const matrix: LabMode[] = root ? ['cold', 'warm', 'staged'] : ['cold', 'warm']

  // The peer: dd reading the same evicted file (8 MiB blocks, the fastest plain reader here).
  const dd: number[] = []
  for (let i = 0; i < repeat; i++) {
    spawnSync('dd', [`if=${model}`, 'iflag=nocache', 'count=0', 'status=none'])
    const t0 = performance.now()
    spawnSync('dd', [`if=${model}`, 'of=/dev/null', 'bs=8M', 'status=none'])
    dd.push(performance.now() - t0)
  }
  const e = await lab.wait((await lab.run({ target: model, matrix, repeat, tokens: 2, timeoutMs: 30 * 60_000 })).id)
  const failed = e.runs.filter((r) => r.status !== 'done')
  for (const r of failed) console.error(`${r.mode} #${r.repeat}: ${r.status}: ${r.error?.message}\n${r.output ?? ''}`)
  const by = (m: LabMode, k: 'loadMs' | 'firstTokenMs' | 'readBytes') => median(e.runs.filter((r) => r.mode === m && r.status === 'done').map((r) => r[k] ?? NaN))
  const ddMs = median(dd)
  const cold = by('cold', 'loadMs')
  console.log(`load-lab bench: ${gb} GB model (Q8_0, ${layers} layers), built-in loader (${e.loaderDetail}), ${repeat} runs per mode, medians`)
  console.log(`  dd of the evicted file: ${Math.round(ddMs)} ms (${(w.bytes / ddMs / 1e6).toFixed(2)} GB/s)`)
  console.log('  mode     loaded     first token  read from disk  loaded vs cold  loaded vs dd')
  for (const m of matrix) {
    const load = by(m, 'loadMs')
    console.log(
      `  ${m.padEnd(7)} ${`${Math.round(load)} ms`.padStart(9)}  ${`${Math.round(by(m, 'firstTokenMs'))} ms`.padStart(11)}  ${`${(by(m, 'readBytes') / 1e9).toFixed(2)} GB`.padStart(14)}  ${`${(load / cold).toFixed(2)}x`.padStart(14)}  ${`${(load / ddMs).toFixed(2)}x`.padStart(12)}`,
    )
  }
  if (!root) console.log('  (staged needs root: run the bench as root for the RAM-disk row)')
  process.exitCode = failed.length ? 1 : 0
} finally {
  await helper?.close()
  rmSync(dir, { recursive: true, force: true })
}
