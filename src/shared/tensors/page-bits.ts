// One bit per page of a file (12.5 MiB for 400 GB): what the recorder believes is resident, and
// which pages a recording has added so far when its sequentiality is judged.

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555)
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333)
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

export class PageBits {
  readonly words: Uint32Array
  constructor(readonly pages: number) {
    this.words = new Uint32Array(Math.ceil(pages / 32))
  }

  get(p: number): boolean {
    return ((this.words[p >>> 5] >>> (p & 31)) & 1) === 1
  }

  set(p: number, on: boolean): void {
    if (on) this.words[p >>> 5] |= 1 << (p & 31)
    else this.words[p >>> 5] &= ~(1 << (p & 31))
  }

  /** Set pages in [first, first + n). */
  count(first: number, n: number): number {
    let c = 0
    let p = first
    const end = first + n
    while (p < end && (p & 31) !== 0) c += this.get(p++) ? 1 : 0
    while (p + 32 <= end) {
      c += popcount32(this.words[p >>> 5])
      p += 32
    }
    while (p < end) c += this.get(p++) ? 1 : 0
    return c
  }

  /** Whether all 32 pages of the word holding p equal `on` (p a multiple of 32, inside the file). */
  wordIs(p: number, on: boolean): boolean {
    return this.words[p >>> 5] === (on ? 0xffffffff : 0)
  }
}
