// Where the build's files lie relative to the running bundle. electron-vite writes entry files to
// out/main and shared code to out/main/chunks (the desktop app and `hearth serve` live in
// chunks), in a clone and inside the packaged app alike; from sources (tests, tsx) the module is
// in src/main. So no module may assume its depth: each file is looked for from the module's
// folder upwards.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** The first `<folder>/<rel>` that exists, from `from` up through `levels` parents; else null. */
export function findUp(from: string, rel: string, levels = 4): string | null {
  for (let dir = from, up = 0; up <= levels; up++) {
    const p = join(dir, rel)
    if (existsSync(p)) return p
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return null
}

/**
 * The built UI (out/renderer) for a bundle in `from`: a clone or the packaged app, entry or shared
 * chunk; from sources, the clone's out/renderer. Built means index.html and its assets/
 * (src/renderer holds an index.html too: the unbuilt template). Null when there is none.
 */
export function builtRendererDir(from: string): string | null {
  const assets = findUp(from, 'renderer/assets') ?? findUp(from, 'out/renderer/assets')
  const dir = assets ? dirname(assets) : null
  return dir && existsSync(join(dir, 'index.html')) ? dir : null
}
