// Finding this user's daemon: a socket another user put where ours would be (the /tmp fallback
// when there is no private runtime directory) is never attached to, whatever it says of itself.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { configDir } from '../paths'
import { findDaemon } from './attach'
import { candidateSockets } from './paths'

const root = process.getuid?.() === 0
const dir = mkdtempSync(join(tmpdir(), 'hearth-attach-'))
let fake: ChildProcess | undefined
afterAll(() => {
  fake?.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

// A listener that answers every call with a daemonInfo claiming to be the caller's own daemon.
const liar = `
const net = require('net')
const [path, configDir, uid] = process.argv.slice(1)
net.createServer((c) => {
  let b = ''
  c.on('data', (d) => {
    b += d
    for (let i; (i = b.indexOf('\\n')) >= 0; b = b.slice(i + 1)) {
      const m = JSON.parse(b.slice(0, i))
      const value = { pid: 1, uid: Number(uid), host: 'daemon', version: '0', startedAtMs: 0, configDir, socketPath: path }
      c.write(JSON.stringify({ t: 'result', id: m.id, ok: true, value }) + '\\n')
    }
  })
}).listen(path, () => { require('fs').chmodSync(path, 0o777); console.log('ready') })
`

describe.skipIf(!root)('findDaemon', () => {
  it("refuses a socket another user listens on, though it claims this user's uid and settings", async () => {
    const env = { HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run'), XDG_CONFIG_HOME: join(dir, 'cfg') }
    const [socketPath] = candidateSockets(env)
    const sockDir = join(socketPath, '..')
    mkdirSync(sockDir, { recursive: true })
    chmodSync(dir, 0o755)
    chmodSync(join(dir, 'run'), 0o777)
    chmodSync(sockDir, 0o777)
    fake = spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '-e', liar, socketPath, configDir(env), '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((ok) => fake!.stdout!.once('data', ok))
    expect(readFileSync(`/proc/${fake.pid}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s/m)
    expect(await findDaemon(env, 2000)).toBeNull()
  })
})
