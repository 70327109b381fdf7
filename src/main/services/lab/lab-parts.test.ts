// The lab's parts on their own: /proc parsers (on this process's real files and on malformed
// text), which cgroup way is chosen for each layout, the swap explanation, llama.cpp's template
// and perf lines, Ollama's API (a stand-in server that answers as Ollama documents), the pressure
// held around an experiment and released whatever happens, and the export shapes.
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { existsSync, mkdirSync, rmSync, truncateSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LabExperiment } from '../../../shared/api'
import { experimentCsv, memoryPresets, resultLine, summarizeByMode } from '../../../shared/lab/results'
import { repoRoot } from '../../../../test/support/helper-harness'
import { labServices, writeLoadableModel } from '../../../../test/support/lab-setup'
import type { HelperClient } from '../../helper-client'
import { builtinLoaderCommand } from './loaders/builtin'
import { expandTemplate, parsePerfLines } from './loaders/llama-binary'
import { ollamaLoader, ollamaUrl } from './loaders/ollama'
import { cgroupFlavour, swapStateFrom, type CgroupProbe } from './memory'
import { mappedFromText, parseStatFaults, readProcCounters } from './proc-counters'
import { defaultLabSettings } from '.'

describe('/proc counters', () => {
  it("reads this process's own counters, and a process that is gone as unknown with the reason", async () => {
    const c = await readProcCounters(process.pid)
    expect(c.readBytes).toBeGreaterThanOrEqual(0)
    expect(c.minorFaults).toBeGreaterThan(0)
    expect(c.rssAnonBytes).toBeGreaterThan(0)
    expect(c.unknownReason).toBeUndefined()
    const gone = await readProcCounters(2 ** 22 + 12345)
    expect(gone).toMatchObject({ readBytes: null, majorFaults: null, rssAnonBytes: null, unknownReason: 'the process has ended' })
  })

  it('parses stat with spaces and parentheses in the command name; malformed text gives null', () => {
    const stat = '4242 (llama (server) x) S 1 4242 4242 0 -1 4194560 1500 0 7 0 3 1 0 0 20 0 4 0 100 1000 100'
    expect(parseStatFaults(stat)).toEqual({ minorFaults: 1500, majorFaults: 7 })
    expect(parseStatFaults('garbage')).toBeNull()
    expect(parseStatFaults('1 (x) S 1 2')).toBeNull()
  })

  it('tells a RAM-disk mapping from a disk one by the device of the mapping', () => {
    const maps = [
      '7f0000000000-7f0008000000 r--s 00000000 00:2a 5 /models/m.gguf',
      '7f1000000000-7f1000100000 r-xp 00000000 fd:01 77 /usr/lib/libc.so.6',
    ].join('\n')
    const mountinfo = [
      '25 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '99 25 0:42 /s1 /models/m.gguf ro,nosuid,nodev - tmpfs hearth ro,size=1024k',
    ].join('\n')
    expect(mappedFromText(maps, mountinfo, ['/models/m.gguf'])).toEqual({ path: '/models/m.gguf', fsType: 'tmpfs' })
    expect(mappedFromText(maps.replace('00:2a', 'fd:01'), mountinfo, ['/models/m.gguf'])).toEqual({ path: '/models/m.gguf', fsType: 'ext4' })
    expect(mappedFromText(maps, mountinfo, ['/other.gguf'])).toBeNull()
  })
})

describe('which cgroup way limits a loader', () => {
  const probe = (files: Record<string, string>, uid = 1000, env: Record<string, string> = {}): CgroupProbe => ({
    uid,
    env,
    exists: (p) => p in files,
    read: (p) => files[p] ?? null,
  })
  it('v1 through the helper, v2 as root, v2 through the user manager, or none with the reason', () => {
    expect(cgroupFlavour(probe({ '/sys/fs/cgroup/memory/cgroup.procs': '' }), null).flavour).toBe('v1-helper')
    expect(cgroupFlavour(probe({ '/sys/fs/cgroup/memory/cgroup.procs': '' }), 'pkexec is not installed')).toMatchObject({ flavour: 'none', reason: expect.stringContaining('pkexec is not installed') })
    const v2 = { '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n' }
    expect(cgroupFlavour(probe(v2, 0), null).flavour).toBe('v2-root')
    expect(cgroupFlavour(probe({ ...v2, '/run/user/1000/systemd/private': '' }, 1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), null).flavour).toBe('v2-systemd')
    expect(cgroupFlavour(probe(v2, 1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), null)).toMatchObject({ flavour: 'none', reason: expect.stringMatching(/no systemd user manager/) })
    expect(cgroupFlavour(probe({ '/sys/fs/cgroup/cgroup.controllers': 'cpu io pids' }), null)).toMatchObject({ flavour: 'none', reason: expect.stringMatching(/no memory cgroup controller/) })
  })

  it('explains swap: none, or some with what can move there', () => {
    const none = swapStateFrom('SwapTotal:       0 kB\nSwapFree:        0 kB\n', '60\n', 'N\n')
    expect(none).toMatchObject({ totalBytes: 0, swappiness: 60, zswap: false })
    expect(none.explanation).toMatch(/^No swap: the loader's own anonymous memory .* cannot leave RAM/)
    const some = swapStateFrom('SwapTotal:  4194304 kB\nSwapFree:   1048576 kB\n', null, 'Y')
    expect(some).toMatchObject({ totalBytes: 4 * 2 ** 30, freeBytes: 2 ** 30, swappiness: null, zswap: true })
    expect(some.explanation).toMatch(/Swap 4\.00 GiB \(1\.00 GiB free, zswap on\): anonymous memory can be pushed out/)
    expect(some.explanation).toMatch(/file-backed pages never go to swap/)
  })
})

describe('llama.cpp binaries', () => {
  it('fills a template into argv without a shell; quotes group words', () => {
    expect(expandTemplate('{bin} -m {model} -p {prompt} --x "a b" \'c d\' {unknown}', { bin: '/b/llama-cli', model: '/m/x y.gguf', prompt: 'hi there' })).toEqual([
      '/b/llama-cli', '-m', '/m/x y.gguf', '-p', 'hi there', '--x', 'a b', 'c d', '{unknown}',
    ])
  })

  it("reads load time and tokens/s from the perf lines (llama.cpp's llama_perf_context_print format)", () => {
    // Format strings from llama.cpp src/llama-context.cpp (llama_perf_context_print), filled in.
    const text = [
      'llama_perf_context_print:        load time =     812.34 ms',
      'llama_perf_context_print: prompt eval time =      55.10 ms /     9 tokens (    6.12 ms per token,   163.34 tokens per second)',
      'llama_perf_context_print:        eval time =     480.00 ms /    15 runs   (   32.00 ms per token,    31.25 tokens per second)',
      'llama_perf_context_print:       total time =    1350.00 ms /    24 tokens',
    ].join('\n')
    expect(parsePerfLines(text)).toEqual({ loadMs: 812.34, tokens: 15, tokensPerSec: 31.25 })
    expect(parsePerfLines('nothing here')).toEqual({ loadMs: null, tokens: null, tokensPerSec: null })
  })
})

describe('Ollama', () => {
  let server: Server
  let base = ''
  const requests: { url: string; body: Record<string, unknown> }[] = []
  beforeAll(async () => {
    // Answers as Ollama's API documents: NDJSON chunks, then one with done and the durations (ns).
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {}
        requests.push({ url: req.url!, body: parsed })
        if (req.url === '/api/version') return res.end(JSON.stringify({ version: '0.9.0' }))
        if (req.url === '/api/ps') return res.end(JSON.stringify({ models: [] }))
        if (req.url === '/api/generate' && !parsed.prompt) return res.end(JSON.stringify({ model: parsed.model, done: true, done_reason: 'unload' }))
        res.write(JSON.stringify({ model: parsed.model, response: 'Once', done: false }) + '\n')
        res.write(JSON.stringify({ model: parsed.model, response: ' upon', done: false }) + '\n')
        res.end(JSON.stringify({ model: parsed.model, response: '', done: true, load_duration: 1_234_000_000, eval_count: 2, eval_duration: 50_000_000 }) + '\n')
      })
    }).listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(() => server.close())

  it('finds its address like the Ollama CLI does', () => {
    expect(ollamaUrl({ ollamaUrl: null }, {})).toBe('http://127.0.0.1:11434')
    expect(ollamaUrl({ ollamaUrl: null }, { OLLAMA_HOST: '0.0.0.0:9999' })).toBe('http://127.0.0.1:9999')
    expect(ollamaUrl({ ollamaUrl: 'http://gpu-box:11434/' }, { OLLAMA_HOST: 'x' })).toBe('http://gpu-box:11434')
  })

  it('unloads first, loads with keep_alive 0, takes load_duration and eval rate from its answer', async () => {
    const loader = ollamaLoader(() => ({ ...defaultLabSettings, ollamaUrl: base }), {})
    expect(await loader.info()).toEqual({ kind: 'ollama', available: true, detail: `Ollama 0.9.0 at ${base}` })
    const calls: string[] = []
    const t = await loader.run(
      { modelPath: '/nowhere/blob', files: ['/nowhere/blob'], ollamaName: 'qwen3:0.6b', prompt: 'hi', tokens: 2, contextSize: 512, wrap: [], signal: new AbortController().signal },
      { started: () => calls.push('started'), beforeLoad: async () => void calls.push('beforeLoad'), beforeExit: async () => void calls.push('beforeExit') },
    )
    expect(t).toMatchObject({ loadMs: 1234, tokens: 2, tokensPerSec: 40 })
    expect(t.firstTokenMs).toBeGreaterThan(0)
    expect(calls).toEqual(['beforeLoad']) // no runner process of that model runs here to measure
    const gens = requests.filter((r) => r.url === '/api/generate')
    expect(gens[0].body).toEqual({ model: 'qwen3:0.6b', keep_alive: 0 })
    expect(gens[1].body).toMatchObject({ model: 'qwen3:0.6b', prompt: 'hi', stream: true, keep_alive: 0, options: { num_predict: 2, temperature: 0 } })
    await expect(loader.run({ modelPath: '/x', files: [], prompt: 'hi', tokens: 1, contextSize: 64, wrap: [], signal: new AbortController().signal }, { started: () => {}, beforeLoad: async () => {}, beforeExit: async () => {} })).rejects.toThrow(/runs models Ollama knows/)
  })
})

describe('pressure around an experiment', () => {
  const dir = join(repoRoot, 'tmp', `lab-parts-${process.pid}`)
  beforeAll(() => mkdirSync(dir, { recursive: true }))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** A helper that answers the pressure verbs and records what it was asked, in order. */
  function recordingHelper(asked: string[]) {
    const fields = { 'held-bytes': '0', 'leave-bytes': '0', 'reserve-bytes': '0', 'floor-bytes': '0', 'shed-bytes': '0', 'mem-available-bytes': '0' }
    return {
      status: () => ({ available: true, mode: 'root' as const, helperPath: '/x' }),
      running: true,
      onReset: () => () => {},
      request: async (verb: string, f: Record<string, string> = {}) => {
        asked.push(verb === 'pressure' ? `pressure leave=${f.leave}` : verb)
        return { fields, items: [] }
      },
    } as unknown as HelperClient
  }

  it('is held before the first run and released after the last, also when the loader crashes', async () => {
    const model = join(dir, 'crash.gguf')
    await writeLoadableModel(model, 'small')
    truncateSync(model, 300_000)
    const asked: string[] = []
    const { lab } = await labServices(dir, recordingHelper(asked))
    const e = await lab.wait((await lab.run({ target: model, matrix: ['warm'], tokens: 1, leaveBytes: 3 * 2 ** 30, limitBy: 'pressure' })).id)
    expect(e.runs[0].status).toBe('failed')
    expect(e.memory).toMatchObject({ method: 'pressure', leaveBytes: 3 * 2 ** 30 })
    expect(asked).toEqual([`pressure leave=${3 * 2 ** 30}`, 'pressure-release'])
  }, 120_000)
})

describe('results', () => {
  const run = (mode: 'cold' | 'warm', repeat: number, loadMs: number | null, status: 'done' | 'failed' = 'done') => ({
    index: 0, mode, repeat, status, loader: 'builtin' as const, pid: 7, startedAtMs: 1, endedAtMs: 2, loadStartedAtMs: 1, loadMs, firstTokenMs: loadMs && loadMs + 10,
    tokensPerSec: 5, tokens: 4, majorFaults: 3, minorFaults: 9, readBytes: 100, residentBeforeBytes: 0, residentAfterBytes: 100, rssAnonBytes: 1, rssFileBytes: 2,
    rssShmemBytes: 0, refaults: null, memoryLimitBytes: null, readFrom: { path: '/m', fsType: 'ext4' }, samples: [{ tMs: 0, residentBytes: 0, readBytes: 0, majorFaults: 0, rssAnonBytes: 0, rssFileBytes: 0 }],
    ...(status === 'failed' ? { error: { code: 'IO', message: 'it broke, "badly"' } } : {}),
  })
  const e = { model: 'M, "quoted"', loader: 'builtin', bytes: 100, matrix: ['cold', 'warm'], memory: null, runs: [run('cold', 1, 100), run('cold', 2, 300), run('warm', 1, 10), run('warm', 2, null, 'failed')] } as unknown as LabExperiment

  it('the --json line has the promised keys first, in order, and no samples', () => {
    const line = resultLine(e)
    expect(Object.keys(line)).toEqual(['model', 'loader', 'runs'])
    expect(Object.keys(line.runs[0]).slice(0, 8)).toEqual(['mode', 'loadMs', 'firstTokenMs', 'tokensPerSec', 'majorFaults', 'readBytes', 'residentBeforeBytes', 'residentAfterBytes'])
    expect(line.runs[0]).not.toHaveProperty('samples')
    expect(line.runs[0]).toMatchObject({ pid: 7, startedAtMs: 1, endedAtMs: 2 })
  })

  it('CSV quotes what needs it; the summary averages finished runs per mode; presets respect a floor', () => {
    const csv = experimentCsv(e).trim().split('\n')
    expect(csv).toHaveLength(5)
    expect(csv[0].split(',').slice(0, 6)).toEqual(['model', 'fileBytes', 'memoryMethod', 'leaveBytes', 'mode', 'repeat'])
    expect(csv[1].startsWith('"M, ""quoted""",100,,,cold,1,done,builtin,100,')).toBe(true)
    expect(csv[4]).toContain('"IO: it broke, ""badly"""')
    expect(summarizeByMode(e)).toEqual([
      { mode: 'cold', runs: 2, loadMs: 200, firstTokenMs: 210, tokensPerSec: 5, readBytes: 100, majorFaults: 3 },
      { mode: 'warm', runs: 1, loadMs: 10, firstTokenMs: 20, tokensPerSec: 5, readBytes: 100, majorFaults: 3 },
    ])
    expect(memoryPresets(10 * 2 ** 30).map((p) => p.leaveBytes)).toEqual([null, 5 * 2 ** 30, 0])
    expect(memoryPresets(2 * 2 ** 30, 2 ** 31).map((p) => p.leaveBytes)).toEqual([null, 2 ** 31, 2 ** 31])
  })
})

describe("the built-in loader's command", () => {
  it('plain Node and a checkout run the script; a packaged app (RunAsNode fuse off) runs itself with --lab-loader, headless', () => {
    const onNode = builtinLoaderCommand({ execPath: '/usr/bin/node' })
    expect(onNode[0]).toBe('/usr/bin/node')
    expect(onNode.at(-1)).toMatch(/builtin-loader\.ts$|lab-loader\.js$/)
    expect(builtinLoaderCommand({ execPath: '/x/electron', electron: '45.0.0', defaultApp: true })[0]).toBe('/x/electron')
    expect(builtinLoaderCommand({ execPath: '/x/electron', electron: '45.0.0', defaultApp: true })).not.toContain('--lab-loader')
    expect(builtinLoaderCommand({ execPath: '/opt/Hearth/hearth', electron: '45.0.0', defaultApp: false })).toEqual([
      '/opt/Hearth/hearth',
      '--ozone-platform=headless',
      '--disable-gpu',
      '--no-sandbox',
      '--lab-loader',
    ])
  })

  it('the app entry (out/main/index.js) given --lab-loader runs the loader, nothing of the app, and takes the arguments after the flag', async () => {
    const dir = join(repoRoot, 'tmp', `lab-entry-${process.pid}`)
    mkdirSync(dir, { recursive: true })
    try {
      const model = join(dir, 'entry.gguf')
      await writeLoadableModel(model, 'small')
      const entry = join(repoRoot, 'out/main/index.js')
      expect(existsSync(entry), 'the build is missing: npm test builds first (npm run build)').toBe(true)
      // Chromium's switches come first, as the packaged app passes them; plain Node ignores them here.
      const child = spawn(process.execPath, [entry, '--ozone-platform=headless', '--lab-loader', model, '2', '128', 'w1 w2'], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] })
      const events: { event: string }[] = []
      createInterface({ input: child.stdio[3] as Readable }).on('line', (l) => {
        const e = JSON.parse(l) as { event: string }
        events.push(e)
        if (e.event === 'ready') child.stdin!.write('go\n')
        if (e.event === 'done') child.stdin!.write('exit\n')
      })
      const code = await new Promise<number | null>((ok) => child.on('exit', ok))
      expect(events.map((e) => e.event)).toEqual(['ready', 'loaded', 'first-token', 'done'])
      expect(events[3]).toMatchObject({ tokens: 2 })
      expect(code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
