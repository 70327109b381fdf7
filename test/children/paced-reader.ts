// A scripted reader for the recorder's tests: reads a file in 1 MiB blocks, either front to back
// or at random block offsets (each block once, seeded), pausing between blocks so the reads span
// many of the recorder's samples. Waits for a line on stdin before it starts (so the recorder
// can start first), prints "done" and exits.
//   usage: paced-reader.ts seq|random FILE BLOCKS PAUSE_MS [SEED]
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { createInterface } from 'node:readline'

const [mode, path, blocksArg, pauseArg, seedArg] = process.argv.slice(2)
const blocks = Number(blocksArg)
const pauseMs = Number(pauseArg)
const MiB = 1 << 20

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function order(totalBlocks: number): number[] {
  if (mode === 'seq') return Array.from({ length: blocks }, (_, i) => i)
  const rand = rng(Number(seedArg ?? 1))
  const all = Array.from({ length: totalBlocks }, (_, i) => i)
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[all[i], all[j]] = [all[j], all[i]]
  }
  return all.slice(0, blocks)
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))
const rl = createInterface({ input: process.stdin })
process.stdout.write('ready\n')
await new Promise<void>((ok) => rl.once('line', () => ok()))
rl.close()
const fd = openSync(path, 'r')
const { size } = fstatSync(fd)
const buf = Buffer.allocUnsafe(MiB)
for (const b of order(Math.floor(size / MiB))) {
  readSync(fd, buf, 0, MiB, b * MiB)
  if (pauseMs > 0) await sleep(pauseMs)
}
closeSync(fd)
process.stdout.write('done\n')
