// Test child for `sudo hearth serve`: started as root with SUDO_UID/SUDO_GID set (as sudo sets
// them), in a private mount namespace with its own /run. It does what serve does before it
// creates the backend (dropSudoRoot), then reports who it is and what the helper and it may do.
//   node --import tsx sudo-serve-child.ts ROOT_ONLY_GGUF
import { readFileSync } from 'node:fs'
import { dropSudoRoot } from '../../src/main/sudo'
import { sessionHelper } from '../../src/main/helper-client'

const secret = process.argv[2]
const log: string[] = []
const dropped = await dropSudoRoot(process.env, (l) => log.push(l))
const helper = sessionHelper(process.env)
const stage = await helper.request('stage', { path: secret }).then(
  () => 'staged',
  (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
)
let read = 'read'
try {
  readFileSync(secret)
} catch (e) {
  read = (e as NodeJS.ErrnoException).code ?? 'error'
}
console.log(JSON.stringify({ dropped, uid: process.getuid!(), gid: process.getgid!(), home: process.env.HOME, helperUid: helper.helloFields.uid, available: helper.status().available, stage, read, log }))
await helper.close()
process.exit(0)
