/// <reference lib="dom" />
import { expect, test } from '@playwright/test'
import koffi from 'koffi'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeGguf } from '../test/helpers/gguf-writer'
import { llamaShape } from '../test/helpers/model-shapes'
import { isolatedEnv, repoRoot, startServe, type Served } from './support/serve'
import { waitForRows } from './support/page'

// The renderer with 200 models whose residency all changes every second: what it costs the page.
// Asserted: how busy the renderer's main thread (React, style, layout) is, as CPU time from /proc
// (not wall time, which other work on a shared 2-core machine inflates many times over), and that
// an update touches only the residency cells. Frame times, long tasks and the whole renderer
// process's CPU are printed beside it: wall-clock figures swing with the machine's load.
const modelCount = 200
const measureMs = 10_000
/**
 * The main thread busy at most half of the time while 200 rows update every second (500 ms of
 * CPU per second, memory chart and cards included), so input still gets answered. Measured on
 * this project's shared 2-core machines: 9% with residency still, 22% with every row moving and
 * seven other engineers' tests running; a row render made 5 ms slower takes it past half.
 */
const maxMainThreadCpuShare = 0.5

const libc = koffi.load('libc.so.6')
const posixFadvise = libc.func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)')
const POSIX_FADV_DONTNEED = 4

let dir: string
let served: Served
const files: string[] = []

test.beforeAll(async () => {
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true })
  dir = mkdtempSync(join(repoRoot, 'tmp', 'hearth-e2e-perf-'))
  const home = join(dir, 'home')
  const folder = join(dir, 'models')
  mkdirSync(join(home, '.config', 'hearth'), { recursive: true })
  mkdirSync(folder)
  for (let i = 0; i < modelCount; i++) {
    const w = await writeGguf(join(folder, `perf-model-${String(i).padStart(3, '0')}.Q4_0.gguf`), {
      ...llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 2048, fileType: 'Q4_0', name: `Perf ${i}` }),
      sparse: true,
    })
    files.push(w.path)
  }
  writeFileSync(join(home, '.config', 'hearth', 'settings.json'), JSON.stringify({ folders: [folder] }))
  served = await startServe(isolatedEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'none') }))
})
test.afterAll(async () => {
  await served?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Every file gets a different resident share each tick: evict it, then read a prefix. */
function churn(tick: number): void {
  const buf = Buffer.allocUnsafe(1 << 20)
  files.forEach((path, i) => {
    const fd = openSync(path, 'r')
    try {
      posixFadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
      const share = ((i * 7 + tick * 13) % 100) / 100
      const want = Math.floor(share * buf.length)
      let at = 0
      while (at < want) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, want - at), at)
        if (n <= 0) break
        at += n
      }
    } finally {
      closeSync(fd)
    }
  })
}

type PagePerf = { frames: number[]; longTasks: number[]; rowUpdates: number; outsideResidency: string[]; rowsAddedOrRemoved: number }

test(`${modelCount} models updating at 1 Hz keep the renderer's main thread under ${maxMainThreadCpuShare * 100}% busy (CPU time), and touch only their residency cells`, async ({ page, browser }) => {
  test.setTimeout(120_000)
  await page.goto(served.url)
  await waitForRows(page, modelCount)
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  // Chromium's per-process CPU time (seconds, all threads of the process): the renderers', printed.
  const browserCdp = await browser.newBrowserCDPSession()
  const rendererCpuSeconds = async () => {
    const { processInfo } = (await browserCdp.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; id: number; cpuTime: number }> }
    return processInfo.filter((p) => p.type === 'renderer').reduce((s, p) => s + p.cpuTime, 0)
  }
  /** CPU time of the renderers' main threads (the thread that runs React, style and layout): /proc's utime + stime. */
  const mainThreadCpuSeconds = async () => {
    const { processInfo } = (await browserCdp.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; id: number; cpuTime: number }> }
    let ticks = 0
    for (const p of processInfo.filter((x) => x.type === 'renderer')) {
      // the main thread's id is the process id; fields 14 and 15 (after the command) are utime, stime
      const f = readFileSync(`/proc/${p.id}/task/${p.id}/stat`, 'utf8').split(') ')[1].split(' ')
      ticks += Number(f[11]) + Number(f[12])
    }
    return ticks / 100 // USER_HZ
  }
  const metric = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const get = (n: string) => metrics.find((m) => m.name === n)?.value ?? 0
    return { task: get('TaskDuration'), script: get('ScriptDuration'), layout: get('LayoutDuration'), style: get('RecalcStyleDuration'), cpu: await rendererCpuSeconds(), main: await mainThreadCpuSeconds() }
  }

  /** One measured window: renderer CPU and CDP timings, frames, long tasks and DOM changes from the page. */
  async function measure(ms: number, label: string, withFrames: boolean) {
    await page.evaluate((withFrames) => {
      const w = window as unknown as { __perf: PagePerf; __stop?: () => void }
      w.__stop?.()
      const perf: PagePerf = (w.__perf = { frames: [], longTasks: [], rowUpdates: 0, outsideResidency: [], rowsAddedOrRemoved: 0 })
      const po = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) perf.longTasks.push(e.duration)
      })
      po.observe({ type: 'longtask' })
      const table = document.querySelector('[data-testid=model-table]')!
      const mo = new MutationObserver((records) => {
        for (const r of records) {
          const el = r.target instanceof Element ? r.target : r.target.parentElement
          if (r.type === 'attributes' && r.attributeName === 'data-resident-bytes') perf.rowUpdates++
          if (r.type === 'childList' && r.target.nodeName === 'TBODY') perf.rowsAddedOrRemoved += r.addedNodes.length + r.removedNodes.length
          // what changed must sit in a residency cell (the bar, its label), a job's progress, or the
          // load-time estimate (it follows residency)
          else if (!el?.closest('[data-testid=residency], [data-testid=job-progress], [data-testid=load-time]')) perf.outsideResidency.push(`${r.type} on ${el?.outerHTML.slice(0, 80)}`)
        }
      })
      mo.observe(table, { subtree: true, attributes: true, childList: true, characterData: true })
      // A rAF loop makes the page draw every frame, which costs CPU itself: frames are timed in
      // their own window, never in the one whose CPU is asserted.
      let last = performance.now()
      let raf = 0
      const frame = (t: number) => {
        perf.frames.push(t - last)
        last = t
        raf = requestAnimationFrame(frame)
      }
      if (withFrames) raf = requestAnimationFrame(frame)
      w.__stop = () => {
        po.disconnect()
        mo.disconnect()
        cancelAnimationFrame(raf)
      }
    }, withFrames)
    const m0 = await metric()
    await page.waitForTimeout(ms)
    const m1 = await metric()
    const perf = await page.evaluate(() => (window as unknown as { __perf: PagePerf }).__perf)
    const frames = perf.frames.slice(1).sort((a, b) => a - b)
    const pct = (p: number) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))] ?? NaN
    const seconds = ms / 1000
    const share = (a: number, b: number) => `${(((b - a) / seconds) * 100).toFixed(1)}%`
    const cpuShare = (m1.cpu - m0.cpu) / seconds
    const mainShare = (m1.main - m0.main) / seconds
    const line =
      `${label}, ${seconds} s: main thread CPU ${(mainShare * 100).toFixed(1)}% of a core (renderer process ${(cpuShare * 100).toFixed(1)}%); ` +
      `main-thread task time ${share(m0.task, m1.task)} (script ${share(m0.script, m1.script)}, style ${share(m0.style, m1.style)}, layout ${share(m0.layout, m1.layout)}); ` +
      (withFrames ? `frames ${frames.length} p50 ${pct(0.5).toFixed(1)} ms p95 ${pct(0.95).toFixed(1)} ms max ${pct(1).toFixed(1)} ms; ` : '') +
      `long tasks ${perf.longTasks.length} (${perf.longTasks.reduce((a, b) => a + b, 0).toFixed(0)} ms); ` +
      `row residency updates ${perf.rowUpdates} (${(perf.rowUpdates / seconds).toFixed(0)}/s); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`
    console.log(line)
    test.info().annotations.push({ type: 'perf', description: line })
    return { ...perf, seconds, mainShare }
  }

  // The same page, first with only the memory chart ticking, then with every row moving.
  await page.waitForTimeout(3000) // past the first render and the chart's first samples
  await measure(4000, `renderer, ${modelCount} models, residency still`, false)
  let tick = 0
  churn(tick++)
  const timer = setInterval(() => churn(tick++), 1000)
  try {
    await page.waitForTimeout(1500)
    const live = await measure(measureMs, `renderer, ${modelCount} models updating at 1 Hz`, false)
    await measure(5000, `renderer, ${modelCount} models updating at 1 Hz, frames timed`, true)
    // the rows did update live: most of 200 rows × 10 ticks
    expect(live.rowUpdates).toBeGreaterThan(modelCount * live.seconds * 0.3)
    // an update re-renders only the residency cells: no row re-created, nothing else in a row touched
    expect(live.rowsAddedOrRemoved).toBe(0)
    expect(live.outsideResidency.slice(0, 5)).toEqual([])
    expect(live.mainShare, `renderer main thread's CPU share with ${modelCount} rows updating at 1 Hz`).toBeLessThanOrEqual(maxMainThreadCpuShare)
  } finally {
    clearInterval(timer)
  }
})
