// `hearth evict` of a model that Hearth itself holds locked, as users meet it: a `hearth daemon`
// runs (the one backend per user), `hearth lock` asked it to lock a model, and `hearth evict`
// from another terminal reaches the same daemon. The message names Hearth's own lock and the
// command that undoes it, never "mapped by node"; `hearth unlock` then lets the evict through.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { writeGguf } from './helpers/gguf-writer'
import { llamaShape } from './helpers/model-shapes'
import { evict, fincoreBytes } from './support/files'

const root = new URL('..', import.meta.url).pathname
let dir: string
let env: Record<string, string>
let model: string
let daemon: ChildProcess
const children: ChildProcess[] = []

function hearth(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** Starts a long-running `hearth …` and resolves once its output matches. */
async function started(args: string[], until: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let log = ''
  await new Promise<void>((ok, fail) => {
    const on = (d: Buffer) => ((log += d), until.test(log) && ok())
    child.stdout!.on('data', on)
    child.stderr!.on('data', on)
    child.once('exit', (code) => fail(new Error(`hearth ${args[0]} exited (${code}):\n${log}`)))
  })
  return child
}

beforeAll(async () => {
  // Under the repo, not /tmp: /tmp may be a tmpfs, where evicting a file does nothing.
  mkdirSync(join(root, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(root, 'tmp', 'hearth-evict-lock-'))
  const home = join(dir, 'home')
  const folder = join(dir, 'models')
  mkdirSync(join(home, '.config', 'hearth'), { recursive: true })
  mkdirSync(folder)
  mkdirSync(join(dir, 'run'), { mode: 0o700 })
  model = (await writeGguf(join(folder, 'Locked-Model-Q8_0.gguf'), llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 2048, fileType: 'Q8_0', name: 'Locked Model' }))).path
  writeFileSync(join(home, '.config', 'hearth', 'settings.json'), JSON.stringify({ folders: [folder] }))
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_RUNTIME_DIR: join(dir, 'run'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none') }
  daemon = await started(['daemon'], /Hearth daemon running/)
}, 120_000)

afterAll(async () => {
  for (const c of children.reverse()) {
    if (c.exitCode !== null || c.signalCode !== null) continue
    const exited = new Promise((ok) => c.once('exit', ok))
    c.kill('SIGTERM')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

it("`hearth evict` names Hearth's own lock and `hearth unlock`; after the unlock the evict goes through", async () => {
  const [m] = JSON.parse(hearth(['models', '--json']).out) as { id: string }[]
  // `hearth lock` attached to the daemon: the daemon holds the pages, in its own memory
  await started(['lock', m.id], /holding the lock/)
  const locks = JSON.parse(hearth(['unlock', '--json']).out) as { modelId: string; holder: string; pid: number }[]
  expect(locks).toMatchObject([{ modelId: m.id, holder: 'hearth', pid: daemon.pid }])

  const held = hearth(['evict', m.id])
  expect(held.code, held.err).toBe(0)
  expect(held.out).toMatch(new RegExp(`stayed resident: Hearth itself holds it locked in RAM \\(pid ${daemon.pid}\\); Unlock it \\(in the app, or \`hearth unlock ${m.id}\`\\), then evict again`))
  expect(held.out).not.toMatch(/mapped by/)
  expect(fincoreBytes(model)).toBeGreaterThan(0)

  const unlocked = hearth(['unlock', m.id])
  expect(unlocked.code, unlocked.err).toBe(0)
  expect(unlocked.out).toContain('unlocked; nothing else is locked')
  const gone = hearth(['evict', m.id])
  expect(gone.out).toContain(`evict ${'Locked-Model-Q8_0'}: evicted`)
  evict(model)
  expect(fincoreBytes(model)).toBeLessThan(64 * 1024)
}, 120_000)
