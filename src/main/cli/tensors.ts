// `hearth tensors MODEL`: every tensor of a GGUF model with its byte range and how much of it is
// in RAM; --layers prints the layers × kinds grid instead; --json one object per tensor.
import { parseArgs } from 'node:util'
import type { TensorMap } from '../../shared/api'
import { formatBytes, formatPercent } from '../../shared/format'
import { buildGrid, cellFraction, type GridCell } from '../../shared/tensors/grid'
import { UsageError, type CliCommand } from './command'
import { bar, table } from './output'

/** The documented shape: name, layer, kind, offset, bytes, residentBytes (plus file, type, shape, experts). */
export function tensorsJson(map: TensorMap) {
  return map.tensors.map((t, i) => ({
    name: t.name,
    layer: t.layer,
    kind: t.kind,
    offset: t.offset,
    bytes: t.bytes,
    residentBytes: map.residentBytes[i],
    file: map.files[t.file].path,
    type: t.type,
    shape: t.shape,
    ...(t.experts ? { experts: t.experts } : {}),
  }))
}

const pct = (c: GridCell | undefined) => {
  const f = cellFraction(c)
  return c === undefined ? '' : f === null ? '?' : formatPercent(f)
}

function layersTable(map: TensorMap): string {
  const grid = buildGrid(map.tensors, map.residentBytes)
  const rows = [['LAYER', ...grid.kinds.map((k) => k.toUpperCase()), 'ALL', '']]
  grid.layers.forEach((cells, l) => {
    const tot = grid.layerTotals[l]
    rows.push([`blk.${l}`, ...cells.map(pct), pct(tot), bar(cellFraction(tot) ?? 0, 10)])
  })
  for (const w of grid.modelWide) rows.push([w.kind, ...grid.kinds.map(() => ''), pct(w.cell), bar(cellFraction(w.cell) ?? 0, 10)])
  return table(rows, rows[0].map((_, i) => i).filter((i) => i > 0 && i < rows[0].length - 1))
}

function tensorsTable(map: TensorMap): string {
  const several = map.files.length > 1
  const rows = [['TENSOR', 'KIND', 'LAYER', ...(several ? ['FILE'] : []), 'OFFSET', 'SIZE', 'RESIDENT']]
  map.tensors.forEach((t, i) => {
    const r = map.residentBytes[i]
    rows.push([t.name, t.kind, t.layer === null ? '' : String(t.layer), ...(several ? [String(t.file + 1)] : []), String(t.offset), formatBytes(t.bytes), r === null ? 'unknown' : formatPercent(t.bytes > 0 ? r / t.bytes : 0)])
  })
  const off = several ? 4 : 3
  return table(rows, [off, off + 1, off + 2])
}

export const tensorsCommand: CliCommand = {
  name: 'tensors',
  summary: 'every tensor of a GGUF model: byte range and how much is in RAM',
  usage: 'hearth tensors MODEL [--layers] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, layers: { type: 'boolean' } }, allowPositionals: true })
    if (positionals.length !== 1) throw new UsageError('name one GGUF model (an id, part of its name, or a path)')
    const backend = await io.backend()
    const map = await backend.tensorMap({ target: positionals[0] })
    if (values.json) {
      io.out(JSON.stringify(tensorsJson(map), null, 2))
      return 0
    }
    io.out(values.layers ? layersTable(map) : tensorsTable(map))
    const known = map.files.filter((f) => f.residentBytes !== null)
    const total = map.files.reduce((a, f) => a + f.bytes, 0)
    const resident = known.reduce((a, f) => a + (f.residentBytes ?? 0), 0)
    io.out(`\n${map.name}: ${map.tensors.length} tensors in ${map.files.length} file${map.files.length > 1 ? 's' : ''}, ${formatBytes(resident)} of ${formatBytes(total)} in RAM${known.length < map.files.length ? ` (unknown for ${map.files.length - known.length}: ${map.files.find((f) => f.unknownReason)?.unknownReason})` : ''}`)
    return 0
  },
}
