// The user's llama-server, when one is on PATH: its version and the flags its --help lists, so
// exports leave out flags an older build would refuse. Asked once per binary (path + mtime).
import { execFile } from 'node:child_process'
import { access, stat } from 'node:fs/promises'
import { constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { LlamaCapabilities } from '../../../shared/planner'

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((ok) =>
    // --help exits 0 on newer builds and 1 on some older ones: the text is what matters.
    execFile(bin, args, { timeout: 5000, maxBuffer: 4 << 20 }, (_err, stdout, stderr) => ok(`${stdout}\n${stderr}`)),
  )
}

/** The first executable `llama-server` on PATH. */
export async function findLlamaServer(pathEnv = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue
    const p = join(dir, 'llama-server')
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p
  }
  return null
}

/** `version: 6715 (a1b2c3d)` and the flag list of --help → what the exports may use. */
export function parseLlamaHelp(path: string, versionText: string, helpText: string): LlamaCapabilities {
  const vline = /version:\s*(\d+)\s*\(([0-9a-f]+)\)/i.exec(versionText)
  const flags = new Set<string>()
  for (const line of helpText.split('\n')) {
    // Option lines start with the flags, comma-separated, before the argument and description.
    const head = /^\s*((?:-{1,2}[A-Za-z][\w-]*(?:,\s*)?)+)/.exec(line)
    if (head) for (const f of head[1].split(/,\s*/)) if (f) flags.add(f.trim())
  }
  const fa = helpText.split('\n').find((l) => /^\s*-fa,\s*--flash-attn\b/.test(l)) ?? ''
  return {
    path,
    version: vline ? `b${vline[1]} (${vline[2]})` : versionText.trim().split('\n')[0] || 'unknown version',
    ...(vline ? { build: Number(vline[1]) } : {}),
    flags: [...flags],
    // The argument after the flags: `[on|off|auto]` (or FA) on newer builds, none on older ones.
    faTakesValue: /--flash-attn\s+(\[?on\|off|FA\b)/.test(fa),
  }
}

let cached: { key: string; caps: LlamaCapabilities } | null = null

/** null when no llama-server is on PATH (the exports then keep newer flags, with a note). */
export async function llamaCapabilities(pathEnv = process.env.PATH ?? '', opts: { fresh?: boolean } = {}): Promise<LlamaCapabilities | null> {
  const bin = await findLlamaServer(pathEnv)
  if (!bin) return null
  const st = await stat(bin).catch(() => null)
  const key = `${bin}:${st?.mtimeMs ?? 0}`
  if (!opts.fresh && cached?.key === key) return cached.caps
  const [v, h] = await Promise.all([run(bin, ['--version']), run(bin, ['--help'])])
  const caps = parseLlamaHelp(bin, v, h)
  cached = { key, caps }
  return caps
}
