// Which model file a GPU process has mapped or open: /proc/PID/maps and /proc/PID/fd, matched
// by device + inode to the catalog's files (a bind mount or another path to the same file
// still matches; the same path to a different inode does not).
import { readFile, readdir, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'

const modelLike = /\.(gguf|safetensors|bin|ggml)$|\/blobs\/sha256[-:][0-9a-f]{64}$/i

export interface ModelFileKey {
  path: string
  modelId?: string
}

/** Paths (from maps and fds) that look like model files, biggest first. */
export async function modelFilesOfProcess(pid: number, proc = '/proc'): Promise<Array<{ path: string; bytes: number; devIno: string }>> {
  const paths = new Set<string>()
  const maps = await readFile(join(proc, String(pid), 'maps'), 'utf8').catch(() => '')
  for (const line of maps.split('\n')) {
    // address perms offset dev inode path — the path starts at the sixth field and may hold spaces
    const m = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*)$/.exec(line)
    if (m && modelLike.test(m[1].replace(/ \(deleted\)$/, ''))) paths.add(m[1])
  }
  const fdDir = join(proc, String(pid), 'fd')
  for (const fd of await readdir(fdDir).catch(() => [] as string[])) {
    const t = await readlink(join(fdDir, fd)).catch(() => '')
    if (modelLike.test(t)) paths.add(t)
  }
  const out: Array<{ path: string; bytes: number; devIno: string }> = []
  for (const p of paths) {
    const st = await stat(p).catch(() => null)
    if (st) out.push({ path: p, bytes: st.size, devIno: `${st.dev}:${st.ino}` })
  }
  return out.sort((a, b) => b.bytes - a.bytes)
}

/** dev:ino → catalog entry, for the files the catalog knows. */
export async function indexFiles(files: ModelFileKey[]): Promise<Map<string, ModelFileKey>> {
  const m = new Map<string, ModelFileKey>()
  for (const f of files) {
    const st = await stat(f.path).catch(() => null)
    if (st) m.set(`${st.dev}:${st.ino}`, f)
  }
  return m
}

/** The model a process holds: its biggest model-like file, named by the catalog when known. */
export async function attributeProcess(pid: number, known: Map<string, ModelFileKey>, proc = '/proc'): Promise<{ modelPath?: string; modelId?: string }> {
  const files = await modelFilesOfProcess(pid, proc)
  const hit = files.find((f) => known.has(f.devIno)) ?? files[0]
  if (!hit) return {}
  const k = known.get(hit.devIno)
  return k ? { modelPath: k.path, ...(k.modelId ? { modelId: k.modelId } : {}) } : { modelPath: hit.path }
}
