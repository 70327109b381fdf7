// The recorder alone in its own process, for `npm run bench -- record`: records FILE at HZ until
// the process PID exits, then prints the process's CPU time over the recording's wall time
// (everything the process did meanwhile: ticks, procfs reads, JSON, GC), the ticks' own CPU time,
// and what starting cost once (the header read and the first full scan).
//   usage: _record-child.ts FILE HZ PID
import { createHub } from '../src/main/hub'
import { createTensorsService } from '../src/main/services/tensors'

const [file, hz, pid] = process.argv.slice(2)
const service = createTensorsService({
  hub: createHub(),
  catalog: { current: () => ({ models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }), resolve: async (t) => t.map((p) => ({ path: p, bytes: 0 })) },
})
let lines = 0
let bytes = 0
// Every line is serialized as the CLI would write it, so that cost is counted too.
const onLine = (l: unknown) => {
  lines++
  bytes += JSON.stringify(l).length + 1
}
const startCpu = process.cpuUsage()
const recorder = await service.record({ target: file, hz: Number(hz), pid: Number(pid) }, onLine)
const start = process.cpuUsage(startCpu)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
process.stdout.write('started\n')
const end = await recorder.done
const wallMs = performance.now() - t0
const c = process.cpuUsage(cpu0)
process.stdout.write(
  JSON.stringify({ wallMs, processCpuMs: (c.user + c.system) / 1000, startCpuMs: (start.user + start.system) / 1000, recorderCpuMs: end.recorderCpuMs, samples: end.samples, lines, bytes, addedBytes: recorder.progress().addedBytes }) + '\n',
)
