import { describe, expect, it } from 'vitest'
import { formatBytes, formatCount, formatDuration, formatPercent } from './format'

describe('format', () => {
  it('bytes use binary units with sensible precision', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.50 KiB')
    expect(formatBytes(4680391392)).toBe('4.36 GiB')
    expect(formatBytes(1024 ** 4 * 1.5)).toBe('1.50 TiB')
    expect(formatBytes(Number.NaN)).toBe('—')
  })
  it('durations and percents', () => {
    expect(formatDuration(83_000)).toBe('1m 23s')
    expect(formatDuration(3_725_000)).toBe('1h 02m')
    expect(formatPercent(1)).toBe('100%')
    expect(formatPercent(0.4567)).toBe('45.7%')
    expect(formatCount(7_615_616_512)).toBe('7.6B')
  })
})
