import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Model } from '../../shared/api'
import { formatBytes, formatCount } from '../../shared/format'
import type { CliCommand } from './command'
import { table } from './output'

/** The `models --json` shape the issue fixes: stable keys for scripts. */
export function modelJson(m: Model) {
  return {
    id: m.id,
    name: m.name,
    source: m.source,
    format: m.format,
    bytes: m.bytes,
    files: m.files.map((f) => ({ path: f.path, bytes: f.bytes })),
    ...(m.gguf
      ? {
          gguf: {
            architecture: m.gguf.architecture,
            parameters: m.gguf.parameters,
            fileType: m.gguf.fileType,
            blockCount: m.gguf.blockCount,
            contextLength: m.gguf.contextLength,
          },
        }
      : {}),
  }
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'list every model Hearth finds',
  usage: 'hearth models [--json] [--skipped] [--add-folder DIR]… [--remove-folder DIR]…',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        skipped: { type: 'boolean' },
        'add-folder': { type: 'string', multiple: true },
        'remove-folder': { type: 'string', multiple: true },
      },
    })
    const backend = await io.backend()
    // Relative to where the command runs; a quoted ~/ is the backend's to expand.
    const full = (dir: string) => (dir.startsWith('~') ? dir : resolve(dir))
    for (const dir of values['remove-folder'] ?? []) {
      await backend.removeFolder({ path: full(dir) })
      io.err(`removed folder ${full(dir)}`)
    }
    for (const dir of values['add-folder'] ?? []) {
      await backend.addFolder({ path: full(dir) })
      io.err(`added folder ${full(dir)}`)
    }
    const catalog = await backend.rescan()
    if (values.json) {
      io.out(JSON.stringify(catalog.models.map(modelJson), null, 2))
      return 0
    }
    if (catalog.models.length === 0) {
      io.out('No models found. Hearth looked in:')
      for (const r of catalog.roots) io.out(`  ${r.exists ? '✓' : '✗'} ${r.source.padEnd(11)} ${r.path}  (${r.origin})`)
      io.out('Add a folder that holds models: hearth models --add-folder DIR (or in the app)')
    } else {
      const rows = [['NAME', 'SOURCE', 'FORMAT', 'QUANT', 'PARAMS', 'SIZE', 'ID']]
      for (const m of catalog.models) {
        rows.push([
          m.name,
          m.source,
          m.format,
          m.gguf?.fileType ?? m.safetensors?.dtype ?? '',
          m.gguf ? formatCount(m.gguf.parameters) : m.safetensors ? formatCount(m.safetensors.parameters) : '',
          formatBytes(m.bytes),
          m.id,
        ])
      }
      io.out(table(rows, [5]))
    }
    const total = catalog.models.reduce((a, m) => a + m.bytes, 0)
    io.err(`${catalog.models.length} models, ${formatBytes(total)}, scanned in ${catalog.scanMs.toFixed(0)} ms` + (catalog.skipped.length ? `; ${catalog.skipped.length} entries skipped${values.skipped ? ':' : ' (--skipped lists them)'}` : ''))
    if (values.skipped) for (const s of catalog.skipped) io.err(`  ${s.path}: ${s.reason}`)
    return 0
  },
}
