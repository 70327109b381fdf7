// Test child standing in for the app: starts the test build of the helper inside the test's mount
// namespace, asks it to hold about BYTES of pressure, prints {helperPid, heldBytes} and waits to
// be killed (the test SIGKILLs it and checks the kernel freed the memory).
//   node --import tsx pressure-app-child.ts NAMESPACE_PID BASE_DIR BYTES
import { readFileSync } from 'node:fs'
import { HelperClient } from '../../src/main/helper-client'
import { testHelper } from '../support/helper-harness'

const [nsPid, base, bytes] = process.argv.slice(2)
const avail = Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024
const helper = new HelperClient({ launch: { command: 'nsenter', args: ['-t', nsPid, '-m', '--', testHelper, '--test-base', base] }, uid: 65534 })
const r = await helper.request('pressure', { leave: '0', reserve: String(avail - Number(bytes)) })
console.log(JSON.stringify({ helperPid: helper.pid, heldBytes: Number(r.fields['held-bytes']) }))
setInterval(() => {}, 1 << 30)
