// The desktop app's own files, found from its bundle's folder (out/main/chunks when built; see
// bundle-paths.ts). No electron import here, so tests check these against a real build.
import { join } from 'node:path'
import { builtRendererDir, findUp } from '../bundle-paths'

export interface AppFiles {
  /** out/renderer/index.html */
  rendererIndex: string
  /** out/preload/index.cjs */
  preload: string
  /** assets/icons of the checkout (a packaged app has them in its resources instead) */
  devIcons: string
}

export function appFiles(bundleDir: string): AppFiles {
  return {
    rendererIndex: join(builtRendererDir(bundleDir) ?? join(bundleDir, '../renderer'), 'index.html'),
    preload: findUp(bundleDir, 'preload/index.cjs') ?? join(bundleDir, '../preload/index.cjs'),
    devIcons: findUp(bundleDir, 'assets/icons') ?? join(bundleDir, '../../assets/icons'),
  }
}
