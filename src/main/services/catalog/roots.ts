// Where each app keeps its models, from the environment alone (HOME and friends come from `env`,
// never from os.homedir, so tests and `hearth serve` for another user can point elsewhere).
import { readFile, stat } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type { ModelSource } from '../../../shared/api'
import { homeDir, type Env } from '../../paths'

/** How a root's contents are laid out. */
export type RootLayout = 'tree' | 'ollama' | 'huggingface' | 'llamacpp'

export interface RootSpec {
  source: ModelSource
  path: string
  origin: string
  layout: RootLayout
}

const exists = (p: string) => stat(p).then(() => true, () => false)
const expand = (p: string, home: string) => (p.startsWith('~/') ? join(home, p.slice(2)) : p)

/** LM Studio's own folder (settings, models, per-model load configs) and why it is that one. */
export async function lmStudioHome(home: string): Promise<{ path: string; origin: string }> {
  const pointer = await readFile(join(home, '.lmstudio-home-pointer'), 'utf8').then((s) => s.trim(), () => '')
  if (pointer && isAbsolute(expand(pointer, home))) return { path: expand(pointer, home), origin: '~/.lmstudio-home-pointer' }
  if (await exists(join(home, '.cache', 'lm-studio'))) return { path: join(home, '.cache', 'lm-studio'), origin: 'default' }
  return { path: join(home, '.lmstudio'), origin: 'default' }
}

async function lmStudioRoot(home: string): Promise<RootSpec> {
  const { path: lmHome, origin } = await lmStudioHome(home)
  const settings = await readFile(join(lmHome, 'settings.json'), 'utf8').then((s) => JSON.parse(s) as { downloadsFolder?: unknown }, () => undefined)
  if (settings && typeof settings.downloadsFolder === 'string' && settings.downloadsFolder.length > 0) {
    return { source: 'lmstudio', path: resolve(lmHome, expand(settings.downloadsFolder, home)), origin: `downloadsFolder in ${join(lmHome, 'settings.json')}`, layout: 'tree' }
  }
  return { source: 'lmstudio', path: join(lmHome, 'models'), origin, layout: 'tree' }
}

/** Every root to look at, in precedence order (a file found twice is listed under the first). */
export async function findRoots(env: Env, folders: string[]): Promise<RootSpec[]> {
  const home = homeDir(env)
  const set = (k: string) => (env[k] && env[k]!.length > 0 ? env[k]! : undefined)
  const roots: RootSpec[] = [await lmStudioRoot(home)]

  const ollama = set('OLLAMA_MODELS')
  roots.push({ source: 'ollama', path: ollama ? expand(ollama, home) : join(home, '.ollama', 'models'), origin: ollama ? '$OLLAMA_MODELS' : 'default', layout: 'ollama' })
  const system = set('HEARTH_OLLAMA_SYSTEM_DIR')
  roots.push({ source: 'ollama', path: system ?? '/usr/share/ollama/.ollama/models', origin: system ? '$HEARTH_OLLAMA_SYSTEM_DIR' : 'the Ollama system service', layout: 'ollama' })

  const hub = set('HF_HUB_CACHE')
  const hfHome = set('HF_HOME')
  roots.push({
    source: 'huggingface',
    path: hub ?? (hfHome ? join(hfHome, 'hub') : join(set('XDG_CACHE_HOME') ?? join(home, '.cache'), 'huggingface', 'hub')),
    origin: hub ? '$HF_HUB_CACHE' : hfHome ? '$HF_HOME' : 'default',
    layout: 'huggingface',
  })

  const llama = set('LLAMA_CACHE')
  roots.push({ source: 'llamacpp', path: llama ?? join(home, '.cache', 'llama.cpp'), origin: llama ? '$LLAMA_CACHE' : 'default', layout: 'llamacpp' })
  if (llama) roots.push({ source: 'llamacpp', path: join(home, '.cache', 'llama.cpp'), origin: 'default (older llama.cpp)', layout: 'llamacpp' })

  roots.push({ source: 'gpt4all', path: join(home, '.local', 'share', 'nomic.ai', 'GPT4All'), origin: 'default', layout: 'tree' })
  // Jan moved its data folder across versions: ~/jan (≤0.5), then the XDG data dir, whose
  // llama.cpp engine keeps models under llamacpp/models.
  roots.push({ source: 'jan', path: join(home, 'jan', 'models'), origin: 'default (Jan ≤ 0.5)', layout: 'tree' })
  const janData = join(set('XDG_DATA_HOME') ?? join(home, '.local', 'share'), 'Jan', 'data')
  roots.push({ source: 'jan', path: join(janData, 'models'), origin: 'default', layout: 'tree' })
  roots.push({ source: 'jan', path: join(janData, 'llamacpp', 'models'), origin: 'default (Jan ≥ 0.6)', layout: 'tree' })
  roots.push({ source: 'textgen', path: join(home, 'text-generation-webui', 'models'), origin: 'default', layout: 'tree' })
  for (const f of folders) roots.push({ source: 'folder', path: resolve(expand(f, home)), origin: 'added by you', layout: 'tree' })

  // The same folder named twice (OLLAMA_MODELS set to the system dir) is searched once.
  const seen = new Set<string>()
  return roots.filter((r) => (seen.has(r.path) ? false : (seen.add(r.path), true)))
}
