// `hearth doctor [MODEL] [--json]`: why models do not stay hot, each finding with its evidence and
// a fix. Exit code 0 when nothing fails, 1 when any finding fails. `--read-test DEVICE` measures a
// device's read bandwidth (a job, about 2 seconds).
import { parseArgs } from 'node:util'
import type { Finding, FindingStatus } from '../../shared/api'
import type { CliCommand, CliIo } from './command'
import { follow, report } from './follow'

const marks: Record<FindingStatus, { text: string; color: string }> = {
  fail: { text: 'FAIL', color: '\x1b[31m' },
  warn: { text: 'WARN', color: '\x1b[33m' },
  info: { text: 'info', color: '\x1b[36m' },
  ok: { text: ' ok ', color: '\x1b[32m' },
}

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      out.push(indent + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(indent + line)
  return out
}

/** Failing and warning findings in full; the others as their title (plus why unknown, and the fix). */
export function renderFinding(f: Finding, io: Pick<CliIo, 'isTTY' | 'columns'>, detail: boolean): string[] {
  const m = marks[f.status]
  const mark = io.isTTY ? `${m.color}${m.text}\x1b[0m` : m.text
  const lines = [`${mark}  ${f.title}`]
  if (!detail) {
    if (f.unknown) lines.push(`      unknown: ${f.unknown}`)
    if (f.fix?.command) lines.push(`      fix: $ ${f.fix.command}`)
    return lines
  }
  const width = Math.max(40, Math.min(110, io.columns) - 8)
  for (const e of f.evidence) lines.push(`      ${e.label}: ${e.value}${e.unknown ? ` (${e.unknown})` : ''}${e.source ? `  [${e.source}]` : ''}`)
  lines.push(...wrap(f.why, width, '      '))
  if (f.fix) {
    lines.push(`      fix: ${f.fix.label}${f.fix.action ? ' (Hearth can do this: in the app, or the command below)' : ''}`)
    if (f.fix.command) lines.push(`        $ ${f.fix.command}`)
    for (const s of f.fix.steps ?? []) lines.push(`        # ${s.label}`, `        $ ${s.command}`)
  }
  return lines
}

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'why models do not stay hot: evidence, load times and fixes (exit 1 when a check fails)',
  usage: 'hearth doctor [MODEL] [--json] [--read-test DEVICE]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, 'read-test': { type: 'string' } } })
    const json = Boolean(values.json)
    const backend = await io.backend()
    await backend.rescan()
    if (values['read-test'] !== undefined) {
      const job = await backend.readTest({ device: values['read-test'] })
      return report(await follow(backend, [job], io, json), io, json)
    }
    const r = await backend.doctor(positionals[0] ? { model: positionals[0] } : undefined)
    const failing = r.findings.some((f) => f.status === 'fail')
    if (json) {
      io.out(JSON.stringify(r.findings, null, 2))
      return failing ? 1 : 0
    }
    const lines: string[] = []
    for (const f of r.findings) {
      const detail = f.status === 'fail' || f.status === 'warn'
      lines.push(...renderFinding(f, io, detail), ...(detail ? [''] : []))
    }
    const count = (s: FindingStatus) => r.findings.filter((f) => f.status === s).length
    lines.push('', '(`hearth doctor --json` has the evidence of every finding; the Doctor view in the app too.)', `${count('fail')} failing, ${count('warn')} warnings, ${count('info')} to know, ${count('ok')} ok (${r.ms} ms)`)
    io.out(lines.join('\n'))
    return failing ? 1 : 0
  },
}
