// Notices changes under the roots without flooding inotify: one non-recursive watch per root and
// per model-holding folder, at most `maxWatches` (each watch is a kernel object counted against
// fs.inotify.max_user_watches; LM Studio has hit the instance limit). What does not fit, and
// roots that do not exist yet, are polled by mtime instead. Changes are debounced into one call.
import { watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'

export interface WatchOptions {
  maxWatches: number
  debounceMs: number
  pollMs: number
  onChange: () => void
}

export class RootWatcher {
  private watchers = new Map<string, FSWatcher>()
  private polled = new Map<string, string>()
  private pollTimer?: NodeJS.Timeout
  private debounce?: NodeJS.Timeout
  private stopped = false

  constructor(private opts: WatchOptions) {}

  /** Sets the folders to watch (roots first, in priority order) and those to poll. */
  async update(watchDirs: string[], pollPaths: string[]): Promise<void> {
    if (this.stopped) return
    const wanted = watchDirs.slice(0, this.opts.maxWatches)
    const overflow = watchDirs.slice(this.opts.maxWatches)
    for (const [dir, w] of this.watchers) {
      if (!wanted.includes(dir)) {
        w.close()
        this.watchers.delete(dir)
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue
      try {
        const w = watch(dir, { persistent: false }, () => this.changed())
        w.on('error', () => {
          // The folder went away: the next scan decides what to watch.
          w.close()
          this.watchers.delete(dir)
          this.changed()
        })
        this.watchers.set(dir, w)
      } catch {
        overflow.push(dir)
      }
    }
    const poll = [...new Set([...pollPaths, ...overflow])]
    const next = new Map<string, string>()
    for (const p of poll) next.set(p, this.polled.get(p) ?? (await signature(p)))
    this.polled = next
    if (!this.pollTimer) {
      this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs)
      this.pollTimer.unref()
    }
  }

  get watchCount(): number {
    return this.watchers.size
  }

  private async poll(): Promise<void> {
    let changed = false
    for (const [p, sig] of this.polled) {
      const now = await signature(p)
      if (now !== sig) {
        this.polled.set(p, now)
        changed = true
      }
    }
    if (changed) this.changed()
  }

  private changed(): void {
    if (this.stopped) return
    clearTimeout(this.debounce)
    this.debounce = setTimeout(() => this.opts.onChange(), this.opts.debounceMs)
    this.debounce.unref()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.debounce)
    clearInterval(this.pollTimer)
    for (const w of this.watchers.values()) w.close()
    this.watchers.clear()
  }
}

async function signature(path: string): Promise<string> {
  const st = await stat(path).catch(() => undefined)
  return st ? `${st.mtimeMs}:${st.ino}` : 'absent'
}
