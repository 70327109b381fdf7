// The 128 KiB rule, first touches and the replay on recordings built by hand, where the right
// answer can be worked out on paper.
import { describe, expect, it } from 'vitest'
import type { PageRun, Recording, RecordingSample, TensorInfo } from '../contract/tensors'
import { firstTouches, layerFirstTouch, sampleAt, sequentiality, summarize } from './analysis'
import { buildGrid, cellFraction } from './grid'
import { Replay } from './replay'

const page = 4096
const KiB = 1024

function tensor(name: string, file: number, offset: number, bytes: number, layer: number | null, extra: Partial<TensorInfo> = {}): TensorInfo {
  return { name, file, offset, bytes, layer, kind: layer === null ? 'embeddings' : 'attention', type: 'F32', shape: [bytes / 4], ...extra }
}

function rec(samples: PageRun[][], opts: { files?: number; tensors?: TensorInfo[]; initial?: PageRun[]; removed?: PageRun[][] } = {}): Recording {
  const files = Array.from({ length: opts.files ?? 1 }, (_, i) => ({ path: `/m${i}.gguf`, bytes: 1 << 30, tensorDataOffset: 0 }))
  return {
    header: { type: 'header', format: 'hearth-recording', version: 1, name: 'm', files, pageBytes: page, hz: 10, method: 'sampled', startedAtMs: 0, faultsScope: 'system', disks: [], tensors: opts.tensors ?? [] },
    initial: { type: 'initial', resident: opts.initial ?? [] },
    samples: samples.map(
      (added, i): RecordingSample => ({ type: 'sample', tMs: (i + 1) * 100, added, removed: opts.removed?.[i] ?? [], residentBytes: 0, diskReadBytesPerSec: null, majorFaultsPerSec: null }),
    ),
  }
}

describe('sequentiality (128 KiB rule)', () => {
  it('does not judge the first run; a run whose 128 KiB before it were added is sequential', () => {
    // 0–255 (not judged), 256–511 (right after: sequential), 800–1055 (pages 768–799 before it
    // were never added: not), 1088–1097 (pages 1056–1087 before it were never added: not).
    const s = sequentiality(rec([[[0, 0, 256]], [[0, 256, 256]], [[0, 800, 256]], [[0, 1088, 10]]]))
    expect(s.runs).toBe(4)
    expect(s.judgedBytes).toBe((256 + 256 + 10) * page)
    expect(s.sequentialBytes).toBe(256 * page)
  })

  it('counts a gap up to 128 KiB as sequential and one page more as not', () => {
    const gap = (128 * KiB) / page // 32 pages
    // run at 100 ends at 110; a run starting at 110 + 31 has page 109 within its 32 pages before.
    const within = sequentiality(rec([[[0, 100, 10]], [[0, 110 + gap - 1, 5]]]))
    expect(within.share).toBe(1)
    const beyond = sequentiality(rec([[[0, 100, 10]], [[0, 110 + gap, 5]]]))
    expect(beyond.share).toBe(0)
  })

  it('orders runs inside a sample by file and offset, and never links runs of different files', () => {
    // In one sample: file 0 at 500 and file 0 at 0 (sorted: 0 first), then file 1 at 256.
    const s = sequentiality(rec([[[0, 500, 4], [0, 0, 256], [1, 256, 4]]], { files: 2 }))
    // 0–255 not judged; 500 is far from 255 → no; file 1's 256 follows file 0's pages → no.
    expect(s.judgedBytes).toBe(8 * page)
    expect(s.sequentialBytes).toBe(0)
    expect(sequentiality(rec([[[0, 0, 1]]])).share).toBeNull()
  })
})

describe('first touches and the replay', () => {
  const tensors = [
    tensor('token_embd.weight', 0, 0, 3 * page, null),
    tensor('blk.0.attn_q.weight', 0, 3 * page, 2 * page + 100, 0),
    tensor('blk.1.ffn_up_exps.weight', 0, 6 * page, 8 * page, 1, { kind: 'experts', experts: 4 }),
  ]
  const r = rec(
    [
      [[0, 6, 2]], // expert 0 of layer 1 (t=100)
      [[0, 3, 1]], // attn_q's first page (t=200)
      [[0, 12, 2]], // expert 3 (t=300)
    ],
    { tensors, initial: [[0, 0, 1]], removed: [[], [], [[0, 0, 1]]] },
  )

  it('lists tensors by when a page of theirs first became resident; resident at start comes first', () => {
    const t = firstTouches(r)
    expect(t.map((x) => [tensors[x.tensor].name, x.tMs, x.atStart])).toEqual([
      ['token_embd.weight', 0, true],
      ['blk.1.ffn_up_exps.weight', 100, false],
      ['blk.0.attn_q.weight', 200, false],
    ])
    expect(layerFirstTouch(r)).toEqual([200, 100])
    expect(sampleAt(r, 250)).toBe(1)
    expect(sampleAt(r, 50)).toBe(-1)
  })

  it('replays tensor, expert-slice and strip residency at any sample, forwards and back', () => {
    const rp = new Replay(r, 8)
    rp.seek(2)
    expect(Array.from(rp.tensorResident)).toEqual([0, page, 4 * page])
    expect(rp.expertFractions(2)).toEqual([1, 0, 0, 1])
    rp.seek(0)
    expect(Array.from(rp.tensorResident)).toEqual([page, 0, 2 * page])
    const grid = buildGrid(tensors, Array.from(rp.tensorResident), (i) => rp.expertFractions(i))
    expect(grid.experts?.[1]).toEqual([1, 0, 0, 0])
    expect(cellFraction(grid.layers[1][grid.kinds.indexOf('experts')])).toBe(0.25)
    rp.seek(-1)
    expect(rp.residentPages).toBe(1)
    // 262144 pages in 8 buckets: the first bucket holds page 0.
    expect(rp.strip(0)[0]).toBeCloseTo(1 / 32768, 10)
  })

  it('spreads a file of fewer pages than twice the buckets over the whole strip', () => {
    // 300 pages in 256 buckets: two pages a bucket would fill only 150 of them, so a fully
    // resident file would draw as 58 % green. Each bucket must hold one or two of the 300 pages.
    const small = rec([[[0, 0, 300]]])
    small.header.files = [{ path: '/m0.gguf', bytes: 300 * page, tensorDataOffset: 0 }]
    const rp = new Replay(small, 256)
    rp.seek(0)
    expect(rp.residentPages).toBe(300)
    expect(rp.strip(0)).toHaveLength(256)
    expect(rp.strip(0).every((f) => f === 1)).toBe(true)
    // The first half of the pages fills the first half of the strip, no more.
    const half = rec([[[0, 0, 150]]])
    half.header.files = small.header.files
    const hp = new Replay(half, 256)
    hp.seek(0)
    const strip = hp.strip(0)
    expect(strip.slice(0, 128).every((f) => f === 1)).toBe(true)
    expect(strip.slice(128).every((f) => f === 0)).toBe(true)
  })

  it('gives a file of fewer pages than buckets one bucket a page', () => {
    const tiny = rec([[[0, 0, 5]]])
    tiny.header.files = [{ path: '/m0.gguf', bytes: 10 * page - 100, tensorDataOffset: 0 }]
    const rp = new Replay(tiny, 256)
    rp.seek(0)
    expect(rp.strip(0)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
  })
})

describe('summary', () => {
  const ended = (tMs: number, recorderCpuMs: number): Recording => ({
    ...rec([[[0, 0, 1]]]),
    end: { type: 'end', tMs, reason: 'stopped', samples: 1, recorderCpuMs },
  })
  it("gives the recorder's CPU share from a second on, and none for a shorter recording (its set-up would read as over a core)", () => {
    expect(summarize(ended(2000, 100)).recorderCpuShare).toBe(0.05)
    expect(summarize(ended(1000, 50)).recorderCpuShare).toBe(0.05)
    expect(summarize(ended(700, 850)).recorderCpuShare).toBeNull()
  })
})
