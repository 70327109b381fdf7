// LM Studio's per-model load settings as it keeps them on disk:
// <LM Studio home>/.internal/user-concrete-model-default-config/<publisher>/<repo>/<file>.json, each
// { load: { fields: [{ key, value }] } } with keys such as llm.load.llama.tryMmap (false: mmap off)
// and llm.load.llama.keepModelInMemory (true: mlock). A value may be wrapped as { checked, value }.
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'

export const lmConfigDir = (lmHome: string) => join(lmHome, '.internal', 'user-concrete-model-default-config')

export interface LmStudioLoadConfig {
  file: string
  /** The model's path under LM Studio's models folder, as the config file is named */
  modelRelPath: string
  tryMmap: boolean | null
  keepModelInMemory: boolean | null
  /** A direct-I/O key, when a version of LM Studio writes one (any load key naming direct I/O) */
  directIo: { key: string; value: boolean } | null
}

function unwrap(v: unknown): unknown {
  if (v && typeof v === 'object' && 'value' in v) {
    const o = v as { checked?: unknown; value: unknown }
    return o.checked === false ? undefined : o.value
  }
  return v
}

/** One config file's load fields; null when it is not LM Studio's shape. */
export function parseLmStudioConfig(text: string): Map<string, unknown> | null {
  let json: unknown
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch {
    return null
  }
  const fields = (json as { load?: { fields?: unknown } })?.load?.fields
  if (!Array.isArray(fields)) return null
  const out = new Map<string, unknown>()
  for (const f of fields) if (f && typeof f === 'object' && typeof (f as { key?: unknown }).key === 'string') out.set((f as { key: string }).key, unwrap((f as { value?: unknown }).value))
  return out
}

export function loadConfigOf(file: string, modelRelPath: string, fields: Map<string, unknown>): LmStudioLoadConfig {
  const bool = (k: string) => {
    const v = fields.get(`llm.load.llama.${k}`) ?? fields.get(`embedding.load.llama.${k}`)
    return typeof v === 'boolean' ? v : null
  }
  const dio = [...fields].find(([k, v]) => /direct.?i.?o/i.test(k) && typeof v === 'boolean')
  return { file, modelRelPath, tryMmap: bool('tryMmap'), keepModelInMemory: bool('keepModelInMemory'), directIo: dio ? { key: dio[0], value: dio[1] as boolean } : null }
}

/** Every per-model config under the LM Studio home (bounded: 6 levels, 5000 files). */
export async function readLmStudioConfigs(lmHome: string): Promise<{ dir: string; configs: LmStudioLoadConfig[]; problems: string[] }> {
  const dir = lmConfigDir(lmHome)
  const configs: LmStudioLoadConfig[] = []
  const problems: string[] = []
  let files = 0
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 6 || files > 5000) return
    const entries = await readdir(d, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p, depth + 1)
      else if (e.isFile() && e.name.endsWith('.json') && files++ < 5000) {
        const fields = parseLmStudioConfig(await readFile(p, 'utf8').catch(() => ''))
        if (!fields) problems.push(`${p} is not an LM Studio load config (no load.fields)`)
        else configs.push(loadConfigOf(p, relative(dir, p).replace(/\.json$/, ''), fields))
      }
    }
  }
  await walk(dir, 0)
  return { dir, configs, problems }
}
