import { isAbsolute, join, resolve } from 'node:path'
import { stat } from 'node:fs/promises'
import { HearthError, type HearthApi } from '../../shared/api'
import type { Context } from '../context'
import { homeDir } from '../paths'

type CatalogApi = Pick<HearthApi, 'catalog' | 'rescan' | 'settings' | 'addFolder' | 'removeFolder'>

/**
 * A folder as the settings keep it: absolute, with ~ expanded to this user's home. A relative
 * path is refused: the backend's working directory (a daemon's, a server's) is not the user's;
 * the CLI sends its paths absolute already.
 */
function folderPath(ctx: Context, path: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homeDir(ctx.env), path.slice(1))
  if (!isAbsolute(path)) throw new HearthError('BAD_INPUT', `"${path}" is not a full path; give the folder's full path, starting with / or ~/`)
  return resolve(path)
}

export function catalogApi(ctx: Context): CatalogApi {
  return {
    catalog: async () => ctx.catalog.current(),
    rescan: () => ctx.catalog.scan(),
    settings: async () => ctx.settings.get(),
    async addFolder(input) {
      const path = folderPath(ctx, input.path)
      const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
        throw new HearthError('NOT_FOUND', `cannot add folder ${path}: ${err.code ?? err.message}; check the path and that you may read it`)
      })
      if (!st.isDirectory()) throw new HearthError('BAD_INPUT', `cannot add ${path}: it is not a folder; add the folder that holds the model files`)
      const folders = ctx.settings.get().folders
      const next = await ctx.settings.update({ folders: folders.includes(path) ? folders : [...folders, path] })
      void ctx.catalog.scan()
      return next
    },
    async removeFolder(input) {
      const path = folderPath(ctx, input.path)
      const folders = ctx.settings.get().folders
      if (!folders.includes(path)) throw new HearthError('NOT_FOUND', `${path} is not one of your added folders (${folders.length ? folders.join(', ') : 'none added'})`)
      const next = await ctx.settings.update({ folders: folders.filter((f) => f !== path) })
      void ctx.catalog.scan()
      return next
    },
  }
}
