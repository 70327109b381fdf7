// What every check module shares: the shape of a check and small helpers for evidence.
import type { Evidence, Finding } from '../../../shared/api'
import { formatBytes, formatPercent, formatRate } from '../../../shared/format'
import type { DoctorInputs } from './inputs'

export interface Check {
  /** Finding ids start with it */
  id: string
  run(inputs: DoctorInputs): Promise<Finding[]>
}

export const ev = (label: string, value: string, source?: string): Evidence => (source ? { label, value, source } : { label, value })

export const bytesEv = (label: string, bytes: number, source?: string): Evidence => ({ ...ev(label, formatBytes(bytes), source), amount: bytes, unit: 'bytes' })

export const rateEv = (label: string, bytesPerSec: number, source?: string): Evidence => ({ ...ev(label, formatRate(bytesPerSec), source), amount: bytesPerSec, unit: 'bytes/s' })

export const countEv = (label: string, n: number, source?: string): Evidence => ({ ...ev(label, n.toLocaleString('en-US'), source), amount: n, unit: 'count' })

export const percentEv = (label: string, percent: number, source?: string): Evidence => ({ ...ev(label, formatPercent(percent / 100), source), amount: percent, unit: 'percent' })

export const secondsEv = (label: string, seconds: number, text: string): Evidence => ({ label, value: text, amount: seconds, unit: 'seconds' })

export const unknownEv = (label: string, reason: string, source?: string): Evidence => ({ ...ev(label, 'unknown', source), unknown: reason })

/** A finding that says a check could not read what it needs: info with the reason, never a crash. */
export function unknownFinding(id: string, check: string, title: string, reason: string, why: string): Finding {
  return { id, check, status: 'info', title, evidence: [unknownEv(title, reason)], why, unknown: reason }
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
