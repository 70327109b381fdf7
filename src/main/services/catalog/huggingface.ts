// The Hugging Face hub cache: models--org--name/snapshots/<rev>/ holds symlinks into blobs/.
// The model is what refs/main points at (else the newest snapshot); the files reported are the
// blobs (what the page cache holds), the names come from the snapshot.
import { readFile, readdir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { ModelSource, SkippedEntry } from '../../../shared/api'
import { groupFolder, type Candidate } from './group'
import { errnoReason, walkRoot, type WalkHooks, type WalkLimits } from './walk'

export const isHfRepoDir = (name: string) => name.startsWith('models--')

async function chooseSnapshot(repoDir: string): Promise<string | undefined> {
  const snapshots = join(repoDir, 'snapshots')
  const ref = await readFile(join(repoDir, 'refs', 'main'), 'utf8').then((s) => s.trim(), () => '')
  if (ref && /^[\w.-]+$/.test(ref) && (await stat(join(snapshots, ref)).then((s) => s.isDirectory(), () => false))) return join(snapshots, ref)
  const revs = await readdir(snapshots).catch(() => [] as string[])
  let best: { path: string; mtimeMs: number } | undefined
  for (const r of revs) {
    const st = await stat(join(snapshots, r)).catch(() => undefined)
    if (st?.isDirectory() && (!best || st.mtimeMs > best.mtimeMs)) best = { path: join(snapshots, r), mtimeMs: st.mtimeMs }
  }
  return best?.path
}

export async function scanHfRepos(
  root: string,
  source: ModelSource,
  skipped: SkippedEntry[],
  limits: WalkLimits,
  hooks?: WalkHooks,
): Promise<{ candidates: Candidate[]; watchDirs: string[] }> {
  let names: string[]
  try {
    names = (await readdir(root)).filter(isHfRepoDir).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') skipped.push({ path: root, reason: errnoReason(err, 'this folder') })
    return { candidates: [], watchDirs: [] }
  }
  const candidates: Candidate[] = []
  const watchDirs: string[] = []
  for (const name of names.slice(0, limits.maxEntries)) {
    const repoDir = join(root, name)
    const repoId = name.slice('models--'.length).replace('--', '/')
    const snapshot = await chooseSnapshot(repoDir)
    if (!snapshot) continue // datasets, or a download that never got a snapshot
    watchDirs.push(join(repoDir, 'snapshots'))
    const byDir = await walkRoot(snapshot, { ...limits, skipped, hooks })
    for (const [dir, files] of byDir) {
      const sub = relative(snapshot, dir)
      watchDirs.push(dir)
      candidates.push(
        ...(await groupFolder(dir, files, {
          source,
          root,
          skipped,
          folderName: () => (sub ? `${repoId}/${sub}` : repoId),
          keyOf: () => join(repoDir, sub),
        })),
      )
    }
  }
  return { candidates, watchDirs }
}
