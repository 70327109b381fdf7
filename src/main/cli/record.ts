// `hearth record MODEL --out FILE`: which pages of a model become resident, and in what order,
// while something loads it. JSON lines go to FILE as they happen (a crash keeps what came
// before); --csv FILE writes the spreadsheet form at the end.
import { closeSync, openSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { maxRecorderHz, type Recording, type RecordingEnd, type RecordingLine } from '../../shared/contract/tensors'
import { HearthError } from '../../shared/errors'
import { formatBytes, formatDuration, formatPercent, formatRate } from '../../shared/format'
import { firstTouches, summarize } from '../../shared/tensors/analysis'
import { recordingLine, recordingToCsv } from '../../shared/tensors/recording-file'
import { UsageError, type CliCommand } from './command'

export interface RecordArgs {
  target: string
  hz: number
  pid?: number
  seconds?: number
  out: string
  csv?: string
  json: boolean
}

export function parseRecordArgs(argv: string[]): RecordArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { hz: { type: 'string' }, pid: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' }, csv: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  })
  if (positionals.length !== 1) throw new UsageError('name one GGUF model (an id, part of its name, or a path)')
  if (!values.out) throw new UsageError('--out FILE is required: where the recording goes (JSON lines)')
  const hz = values.hz === undefined ? maxRecorderHz : Number(values.hz)
  if (!Number.isFinite(hz) || hz <= 0 || hz > maxRecorderHz) throw new UsageError(`--hz takes a rate above 0 and at most ${maxRecorderHz} samples per second (got ${JSON.stringify(values.hz)})`)
  if (values.pid !== undefined && values.seconds !== undefined) throw new UsageError('give --pid or --seconds, not both: --pid records until that process exits')
  const out: RecordArgs = { target: positionals[0], hz, out: resolve(values.out), json: Boolean(values.json) }
  if (values.pid !== undefined) {
    if (!/^\d+$/.test(values.pid) || Number(values.pid) < 1) throw new UsageError(`--pid takes a process id (got ${JSON.stringify(values.pid)})`)
    out.pid = Number(values.pid)
  }
  if (values.seconds !== undefined) {
    const s = Number(values.seconds)
    if (!Number.isFinite(s) || s <= 0 || s > 86400) throw new UsageError(`--seconds takes a duration above 0 and at most 86400 (got ${JSON.stringify(values.seconds)})`)
    out.seconds = s
  }
  if (values.csv) out.csv = resolve(values.csv)
  if (out.csv === out.out) throw new UsageError('--csv and --out name the same file; give the CSV its own name')
  return out
}

/** Opens a new file for writing; refuses to replace one that exists (nothing on disk is lost). */
function createNew(path: string, flag: string): number {
  try {
    return openSync(path, 'wx')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new HearthError('BAD_INPUT', `${path} exists; ${flag} writes a new file only (pick another name or remove it)`)
    throw new HearthError('IO', `${path}: cannot create it (${(err as Error).message}); ${flag} needs a writable place`)
  }
}

function summaryLines(rec: Recording): string[] {
  const s = summarize(rec)
  const names = firstTouches(rec)
    .filter((t) => !t.atStart)
    .map((t) => `${rec.header.tensors[t.tensor].name} (${(t.tMs / 1000).toFixed(1)} s)`)
  return [
    `${formatDuration(s.durationMs)}, ${s.samples} samples at ${rec.header.hz} Hz (sampled: pages added within one sample are ordered by file offset)`,
    `${formatBytes(s.addedBytes)} became resident${s.removedBytes ? `, ${formatBytes(s.removedBytes)} left` : ''}; ${formatBytes(s.endBytes)} resident at the end`,
    `sequential: ${s.sequentiality.share === null ? 'not enough reads to judge' : formatPercent(s.sequentiality.share)} (128 KiB rule)` +
      (s.peakDiskReadBytesPerSec !== null ? `; peak disk read ${formatRate(s.peakDiskReadBytesPerSec)}` : ''),
    names.length ? `first touched: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` … last: ${names[names.length - 1]}` : ''}` : 'no tensor was touched',
    s.recorderCpuShare === null ? 'recorder CPU: not measured (the recording was under a second)' : `recorder CPU: ${formatPercent(s.recorderCpuShare)} of one core`,
  ]
}

export const recordCommand: CliCommand = {
  name: 'record',
  summary: 'record which pages of a model load, and in what order',
  usage: 'hearth record MODEL [--hz N] [--pid PID | --seconds S] --out FILE [--csv FILE] [--json]',
  async run(argv, io) {
    const a = parseRecordArgs(argv)
    // Both files are claimed first: a long recording must not end in "that name exists".
    const fd = createNew(a.out, '--out')
    let csvFd: number | undefined
    try {
      if (a.csv) csvFd = createNew(a.csv, '--csv')
    } catch (err) {
      closeSync(fd)
      unlinkSync(a.out)
      throw err
    }
    const lines: RecordingLine[] = []
    let end: RecordingEnd
    try {
      const backend = await io.localBackend() // the recorder streams to this process: never the daemon's
      const onLine = (l: RecordingLine) => {
        lines.push(l)
        writeSync(fd, recordingLine(l) + '\n')
      }
      const recorder = await backend.ctx.tensors.record({ target: a.target, hz: a.hz, pid: a.pid, seconds: a.seconds }, onLine)
      const until = a.pid !== undefined ? `until process ${a.pid} exits` : a.seconds !== undefined ? `for ${a.seconds} s` : 'until Ctrl-C'
      if (!a.json) io.err(`recording ${recorder.header.name} at ${a.hz} Hz ${until} → ${a.out}`)
      void io.interrupted.then(() => recorder.stop())
      const progress = setInterval(() => {
        const p = recorder.progress()
        if (a.json) io.out(JSON.stringify({ elapsedMs: Math.round(p.elapsedMs), samples: p.samples, addedBytes: p.addedBytes, residentBytes: p.residentBytes, totalBytes: p.totalBytes }))
        else if (io.isTTY) process.stderr.write(`\r${formatDuration(p.elapsedMs)}  ${p.samples} samples  +${formatBytes(p.addedBytes)}  resident ${formatPercent(p.totalBytes ? p.residentBytes / p.totalBytes : 0)}   `)
      }, 1000)
      end = await recorder.done
      clearInterval(progress)
      if (io.isTTY && !a.json) process.stderr.write('\n')
    } catch (err) {
      closeSync(fd)
      if (csvFd !== undefined) closeSync(csvFd)
      // Nothing recorded (the model was not found, the kernel hides its residency): no empty files.
      if (lines.length === 0) {
        unlinkSync(a.out)
        if (a.csv) unlinkSync(a.csv)
      }
      throw err
    }
    closeSync(fd)
    const [header, initial, ...rest] = lines
    const rec: Recording = {
      header: header as Recording['header'],
      initial: initial as Recording['initial'],
      samples: rest.filter((l) => l.type === 'sample'),
      end,
    }
    if (csvFd !== undefined) {
      try {
        writeFileSync(csvFd, recordingToCsv(rec))
      } finally {
        closeSync(csvFd)
      }
    }
    if (a.json) io.out(JSON.stringify({ out: a.out, ...(a.csv ? { csv: a.csv } : {}), end, summary: summarize(rec) }))
    else io.out([`${rec.header.name} → ${a.out}${a.csv ? ` (CSV: ${a.csv})` : ''}`, ...summaryLines(rec).map((l) => `  ${l}`)].join('\n'))
    if (end.reason === 'error') throw new HearthError('IO', `the recording stopped early: ${end.note}; what came before is in ${a.out}`)
    return 0
  },
}
