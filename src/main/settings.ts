// Settings persisted as JSON in the XDG config dir; written atomically (temp file + rename) so a
// crash never leaves half a file. A damaged file is kept aside, never silently lost.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Settings } from '../shared/api'
import { desktopSettingsFrom } from '../shared/contract/daemon'
import { labSettingsInput } from '../shared/contract/lab'
import { configDir, type Env } from './paths'

export const defaultSettings: Settings = {
  folders: [],
  pins: [],
  keepWarmThreshold: 0.95,
  lockMaxFraction: 0.5,
  stagingReserveBytes: 2 * 1024 ** 3,
}

const settingsSchema = z.object({
  folders: z.array(z.string().min(1).max(4096)).max(1000).catch([]),
  pins: z.array(z.string().min(1).max(512)).max(1000).catch([]),
  keepWarmThreshold: z.number().min(0.05).max(1).catch(defaultSettings.keepWarmThreshold),
  lockMaxFraction: z.number().min(0.01).max(0.95).catch(defaultSettings.lockMaxFraction),
  stagingReserveBytes: z.number().int().min(0).catch(defaultSettings.stagingReserveBytes),
  hostBandwidth: z.object({ gbps: z.number().positive().max(1e5), atMs: z.number(), method: z.string().max(500) }).optional().catch(undefined),
  planChecks: z
    .record(z.string().max(400), z.array(z.object({ atMs: z.number(), diffMiB: z.number(), process: z.string().max(200) })).max(50))
    .optional()
    .catch(undefined),
  // A damaged entry drops the whole map: bandwidth is measured again by the next warm.
  deviceBandwidth: z
    .record(
      z.string().max(1024),
      z.array(z.object({ bytesPerSec: z.number().positive(), bytes: z.number().nonnegative(), atMs: z.number(), source: z.enum(['warm', 'read-test', 'diskstats']) }).strict()).max(20),
    )
    .optional()
    .catch(undefined),
  desktop: z.unknown().optional().transform((v) => (v === undefined ? undefined : desktopSettingsFrom(v))),
  lab: labSettingsInput.partial().optional().catch(undefined),
})

export interface SettingsStore {
  get(): Settings
  update(patch: Partial<Settings>): Promise<Settings>
  /** Set when the file on disk could not be read and was moved aside */
  readonly problem?: string
  readonly file: string
}

export async function openSettings(env: Env = process.env): Promise<SettingsStore> {
  const dir = configDir(env)
  const file = join(dir, 'settings.json')
  let current: Settings = { ...defaultSettings }
  let problem: string | undefined
  try {
    const raw = await readFile(file, 'utf8')
    current = { ...defaultSettings, ...settingsSchema.parse({ ...defaultSettings, ...JSON.parse(raw) }) }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code !== 'ENOENT') {
      const aside = `${file}.broken-${Date.now()}`
      await rename(file, aside).catch(() => undefined)
      problem = `settings file ${file} could not be read (${e.message}); kept it as ${aside} and started from defaults`
    }
  }
  let chain: Promise<unknown> = Promise.resolve()
  return {
    file,
    problem,
    get: () => current,
    update(patch) {
      const next = { ...current, ...patch }
      current = next
      // Serialise writes so the file always ends as the last update.
      const write = chain.then(async () => {
        await mkdir(dir, { recursive: true })
        const tmp = `${file}.${process.pid}.tmp`
        await writeFile(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 })
        await rename(tmp, file)
      })
      chain = write.catch(() => undefined)
      return write.then(() => next)
    },
  }
}
