// A temp HOME whose only model source is one folder the user added (settings.json), and the
// environment that keeps a backend from seeing anything of the outer machine's model folders.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface FolderHome {
  home: string
  /** The added folder: put models here */
  models: string
  env: Record<string, string>
}

export function folderHome(dir: string): FolderHome {
  const home = join(dir, 'home')
  const models = join(dir, 'models')
  mkdirSync(join(home, '.config', 'hearth'), { recursive: true })
  mkdirSync(models, { recursive: true })
  writeFileSync(join(home, '.config', 'hearth', 'settings.json'), JSON.stringify({ folders: [models] }))
  return { home, models, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), HEARTH_OLLAMA_SYSTEM_DIR: join(dir, 'no-system-ollama') } }
}
