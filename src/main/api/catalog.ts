import { resolve } from 'node:path'
import { stat } from 'node:fs/promises'
import { HearthError, type HearthApi } from '../../shared/api'
import type { Context } from '../context'

type CatalogApi = Pick<HearthApi, 'catalog' | 'rescan' | 'settings' | 'addFolder' | 'removeFolder'>

export function catalogApi(ctx: Context): CatalogApi {
  return {
    catalog: async () => ctx.catalog.current(),
    rescan: () => ctx.catalog.scan(),
    settings: async () => ctx.settings.get(),
    async addFolder(input) {
      const path = resolve(input.path)
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
      const path = resolve(input.path)
      const folders = ctx.settings.get().folders
      if (!folders.includes(path)) throw new HearthError('NOT_FOUND', `${path} is not one of your added folders (${folders.length ? folders.join(', ') : 'none added'})`)
      const next = await ctx.settings.update({ folders: folders.filter((f) => f !== path) })
      void ctx.catalog.scan()
      return next
    },
  }
}
