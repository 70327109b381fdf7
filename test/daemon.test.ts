// The one backend per user, as users run it: a real `hearth daemon` (the built CLI) on a temp HOME
// with its own XDG_RUNTIME_DIR, and real `hearth` commands attaching to it over the UNIX socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, fstatSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { makeModelHome, type ModelHome } from './fixtures/model-home'
import { FADV, fadvise } from '../src/main/sys/fadvise'
import { residentBytesOf } from '../src/main/services/warm/missing-ranges'
import { connectUnix, type UnixClient } from '../src/main/transport/unix-socket'
import { createTrayFeed, trayMenu } from '../src/main/tray-menu'

const root = new URL('..', import.meta.url).pathname
let dir: string
let mh: ModelHome
const children: ChildProcess[] = []
const clients: UnixClient[] = []

interface Running {
  child: ChildProcess
  log: () => string
  metricsUrl?: string
}

function hearth(args: string[], env: Record<string, string> = mh.env) {
  const r = spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** Starts `hearth daemon …` and resolves once it says it runs (or with what it printed by then). */
async function daemon(args: string[], env = mh.env, until = /Hearth daemon running/): Promise<Running> {
  const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'daemon', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let log = ''
  child.stdout!.on('data', (d) => (log += d))
  child.stderr!.on('data', (d) => (log += d))
  // Not expect.poll: this also runs in beforeAll.
  const t0 = Date.now()
  while (!until.test(log)) {
    if (child.exitCode !== null) throw new Error(`hearth daemon exited (${child.exitCode}):\n${log}`)
    if (Date.now() - t0 > 45_000) throw new Error(`hearth daemon did not print ${until} in 45 s:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return { child, log: () => log, metricsUrl: /metrics at (http:\/\/\S+\/metrics)/.exec(log)?.[1] }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok()
    child.once('exit', () => ok())
    child.kill('SIGTERM')
  })
}

async function socketClient(): Promise<UnixClient> {
  const c = await connectUnix(join(mh.env.XDG_RUNTIME_DIR, 'hearth', 'daemon.sock'))
  clients.push(c)
  return c
}

/** A one-file GGUF model of the fixture home, by the id `hearth models` gives it. */
function oneFileModels(): { id: string; name: string; path: string; bytes: number }[] {
  const models = JSON.parse(hearth(['models', '--json']).out) as { id: string; name: string; format: string; files: { path: string; bytes: number }[] }[]
  return models.filter((m) => m.format === 'gguf' && m.files.length === 1).map((m) => ({ id: m.id, name: m.name, path: m.files[0].path, bytes: m.files[0].bytes }))
}

function resident(path: string): number {
  const fd = openSync(path, 'r')
  try {
    return residentBytesOf(fd, fstatSync(fd).size) ?? -1
  } finally {
    closeSync(fd)
  }
}

function evictFromOutside(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd) // DONTNEED keeps dirty pages, and the fixture was just written
    fadvise(fd, 0, 0, FADV.DONTNEED)
  } finally {
    closeSync(fd)
  }
}

let main: Running

beforeAll(async () => {
  // Under the repo, not /tmp: /tmp may be a tmpfs, where evicting a file does nothing.
  mkdirSync(join(root, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(root, 'tmp', 'hearth-daemon-'))
  mh = await makeModelHome(dir)
  main = await daemon(['--check-every', '1', '--metrics', '--port', '0'])
}, 120_000)

afterAll(async () => {
  for (const c of clients) c.close()
  await Promise.all(children.map(stop))
  rmSync(dir, { recursive: true, force: true })
})

describe('hearth daemon', () => {
  it('listens on a 0600 socket in a 0700 directory of this user', async () => {
    const sock = join(mh.env.XDG_RUNTIME_DIR, 'hearth', 'daemon.sock')
    expect(statSync(sock).isSocket()).toBe(true)
    expect(statSync(sock).mode & 0o777).toBe(0o600)
    expect(statSync(join(mh.env.XDG_RUNTIME_DIR, 'hearth')).mode & 0o777).toBe(0o700)
    const info = await (await socketClient()).api.daemonInfo()
    expect(info).toMatchObject({ pid: main.child.pid, host: 'daemon', configDir: join(mh.home, '.config', 'hearth'), socketPath: sock })
  })

  it("the CLI's jobs run in the daemon and `hearth jobs` lists the daemon's jobs", async () => {
    const [m] = oneFileModels()
    const warm = hearth(['warm', m.id, '--force', '--json'])
    expect(warm.code, warm.err).toBe(0)
    const id = (JSON.parse(warm.out.trim().split('\n').at(-1)!) as { id: string }).id
    const inDaemon = await (await socketClient()).api.jobs()
    expect(inDaemon.find((j) => j.id === id)).toMatchObject({ kind: 'warm', modelId: m.id, status: 'done' })
    const listed = JSON.parse(hearth(['jobs', '--json']).out) as { id: string }[]
    expect(listed.map((j) => j.id)).toContain(id)
    // A CLI told not to attach has a backend of its own: none of the daemon's jobs.
    const alone = JSON.parse(hearth(['jobs', '--json'], { ...mh.env, HEARTH_NO_DAEMON: '1' }).out) as { id: string }[]
    expect(alone.map((j) => j.id)).not.toContain(id)
  })

  it("a path relative to where the user runs the CLI means that file, though the daemon's working directory is elsewhere", () => {
    const [m] = oneFileModels()
    const cwd = dirname(m.path)
    const run = (args: string[]) => spawnSync(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd, env: mh.env, encoding: 'utf8', timeout: 60_000 })
    const status = run(['status', '--json', basename(m.path)])
    expect(status.status, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject([{ path: m.path, model: m.id, bytes: m.bytes }])
    const warm = run(['warm', `./${basename(m.path)}`, '--json'])
    expect(warm.status, warm.stderr).toBe(0)
    expect(JSON.parse(warm.stdout.trim().split('\n').at(-1)!)).toMatchObject({ kind: 'warm', modelId: m.id, status: 'done' })
    // A model's name is no file here: it still reaches the daemon as a name.
    const byName = run(['status', '--json', m.id])
    expect(JSON.parse(byName.stdout)).toMatchObject([{ path: m.path }])
  })

  it('a CLI for another HOME is not captured by this daemon, even with the same runtime dir', () => {
    const other = join(dir, 'other-home')
    mkdirSync(other, { recursive: true })
    const r = hearth(['jobs', '--json'], { ...mh.env, HOME: other, XDG_CONFIG_HOME: join(other, '.config') })
    expect(r.code, r.err).toBe(0)
    expect(JSON.parse(r.out)).toEqual([])
  })

  it('keeps a pinned model warm with no window: evicted from outside, warmed back', async () => {
    const m = oneFileModels().find((x) => x.bytes > 1 << 20)!
    expect(hearth(['warm', m.id, '--force']).code).toBe(0)
    const pin = hearth(['pin', m.id])
    expect(pin.code, pin.err).toBe(0)
    const api = (await socketClient()).api
    expect((await api.pins()).map((p) => p.modelId)).toEqual([m.id])
    evictFromOutside(m.path)
    expect(resident(m.path)).toBeLessThan(m.bytes / 2)
    // The daemon checks every second (--check-every 1) and re-warms below the threshold.
    await expect.poll(() => resident(m.path), { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(m.bytes * 0.95)
    await expect.poll(async () => (await api.jobs()).find((j) => j.kind === 'rewarm' && j.modelId === m.id)?.status, { timeout: 10_000 }).toBe('done')
    const [info] = await api.pins()
    expect(info.rewarms).toBe(1)
    expect(hearth(['unpin', m.id]).code).toBe(0)
  })

  it('the tray menu built from the daemon state shows its pins and residency', async () => {
    const m = oneFileModels()[1]
    expect(hearth(['pin', m.id]).code).toBe(0)
    const feed = createTrayFeed((await socketClient()).api, () => {}, { renderEveryMs: 0 })
    await feed.ready
    const labels = trayMenu(feed.view().state).map((i) => (i.type === 'separator' ? '---' : i.label))
    feed.stop()
    expect(labels[0]).toBe('Pinned')
    expect(labels[1]).toMatch(new RegExp(`^📌 ${m.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} — (\\d+%|warming \\d+%)$`))
    expect(hearth(['unpin', m.id]).code).toBe(0)
  })

  it('/metrics parses with a real Prometheus parser and matches `hearth status --json`', async () => {
    type Status = { path: string; bytes: number; residentBytes: number | null; model?: string }[]
    const perModel = (s: Status) => {
      const out = new Map<string, { bytes: number; resident: number }>()
      for (const f of s) {
        if (!f.model) continue
        const e = out.get(f.model) ?? { bytes: 0, resident: 0 }
        e.bytes += f.bytes
        e.resident += f.residentBytes ?? 0
        out.set(f.model, e)
      }
      return out
    }
    // Known states: every model evicted, then one warmed through the daemon (counted as a warm job).
    for (const m of mh.models) for (const f of m.files) evictFromOutside(f.path)
    const [warmed] = oneFileModels()
    expect(hearth(['warm', warmed.id, '--force']).code).toBe(0)
    const before = perModel(JSON.parse(hearth(['status', '--json']).out) as Status)
    expect(before.get(warmed.id)?.resident).toBeGreaterThan(0)
    const text = await (await fetch(main.metricsUrl!)).text()
    const after = perModel(JSON.parse(hearth(['status', '--json']).out) as Status)
    const families = parsePrometheusTextFormat(text) as { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[]
    const family = (name: string) => families.find((f) => f.name === name)!
    const byModel = (name: string) => new Map(family(name).metrics.map((x) => [x.labels!.model, Number(x.value)]))
    const resident = byModel('hearth_model_resident_bytes')
    const size = byModel('hearth_model_size_bytes')
    expect(family('hearth_model_resident_bytes').type).toBe('GAUGE')
    expect(size.size).toBe(mh.models.length)
    let compared = 0
    for (const [id, s] of before) {
      expect(size.get(id)).toBe(s.bytes)
      // residency moves by itself (the kernel drops pages): compare where it held still across the scrape
      if (after.get(id)?.resident !== s.resident) continue
      expect(resident.get(id), id).toBe(s.resident)
      compared++
    }
    expect(compared).toBeGreaterThanOrEqual(mh.models.length - 2)
    expect(Number(family('hearth_models').metrics[0].value)).toBe(mh.models.length)
    const finished = family('hearth_jobs_finished_total').metrics.find((x) => x.labels!.kind === 'warm' && x.labels!.status === 'done')
    expect(Number(finished?.value)).toBeGreaterThanOrEqual(1) // the warm above went through the daemon
    expect(Number(family('hearth_memory_total_bytes').metrics[0].value)).toBe(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024)
  })

  it('one daemon per user: a second waits, and takes over when the first stops', async () => {
    const second = await daemon(['--check-every', '1'], mh.env, /already runs here \(daemon, pid \d+\); waiting/)
    expect(second.child.exitCode).toBeNull()
    await stop(main.child)
    await expect.poll(second.log, { timeout: 20_000 }).toMatch(/Hearth daemon running/)
    const info = await (await socketClient()).api.daemonInfo()
    expect(info.pid).toBe(second.child.pid)
    main = second
  })

  it('hearth serve attaches to the running daemon instead of starting a second backend, and serves the built UI from any folder', async () => {
    // Started from the user's home, not the repository: the UI is found beside the bundle.
    const child = spawn(process.execPath, [join(root, 'bin/hearth.js'), 'serve', '--port', '0'], { cwd: mh.home, env: mh.env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let log = ''
    child.stdout!.on('data', (d) => (log += d))
    child.stderr!.on('data', (d) => (log += d))
    await expect.poll(() => log, { timeout: 30_000 }).toMatch(/Hearth is serving at/)
    expect(log).toMatch(new RegExp(`attached to this user's Hearth daemon \\(daemon, pid ${main.child.pid}\\)`))
    const page = await fetch(/Hearth is serving at (\S+)/.exec(log)![1])
    const html = await page.text()
    expect(page.status, html.slice(0, 200)).toBe(200)
    expect(html).toMatch(/<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js"><\/script>/)
    await stop(child)
  })
})
