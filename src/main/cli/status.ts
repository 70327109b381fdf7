import { parseArgs } from 'node:util'
import type { FileResidency } from '../../shared/api'
import { formatBytes, formatPercent } from '../../shared/format'
import type { CliCommand } from './command'
import { bar, table } from './output'

export function statusJson(f: FileResidency) {
  return {
    path: f.path,
    bytes: f.bytes,
    residentBytes: f.residentBytes,
    ...(f.modelId ? { model: f.modelId } : {}),
    ...(f.unknownReason ? { unknownReason: f.unknownReason } : {}),
    ...(f.staged ? { staged: true } : {}),
  }
}

export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'show how much of each model (or file) is in RAM',
  usage: 'hearth status [MODEL|PATH ...] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true })
    const backend = await io.backend()
    // With no targets: every catalog model (resolving targets scans on its own when needed).
    if (positionals.length === 0) await backend.rescan()
    const files = await backend.residency({ targets: positionals })
    if (values.json) {
      io.out(JSON.stringify(files.map(statusJson), null, 2))
      return 0
    }
    if (files.length === 0) {
      io.out('no models found: `hearth models` shows where Hearth looked, `hearth models --add-folder DIR` adds one; or give files: hearth status PATH …')
      return 0
    }
    const rows = [['', 'RESIDENT', '', 'SIZE', 'FILE']]
    for (const f of files) {
      const known = f.residentBytes !== null
      const frac = known && f.bytes > 0 ? f.residentBytes! / f.bytes : 0
      rows.push([
        known ? bar(frac, 12) : '?'.repeat(12),
        known ? formatBytes(f.residentBytes!) : 'unknown',
        known ? (f.bytes > 0 ? formatPercent(frac) : 'empty') : '',
        formatBytes(f.bytes),
        f.path + (f.staged ? '  [RAM disk]' : '') + (f.unknownReason ? `  (${f.unknownReason})` : ''),
      ])
    }
    io.out(table(rows, [1, 2, 3]))
    return 0
  },
}
