// A scratch root for running install scripts as the package manager would: a directory holding
// the given commands and the libraries they load (found with ldd), entered with chroot inside a
// private mount and pid namespace (its own /proc, the real /dev/null bound in), so nothing outside
// it can be touched.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

function which(cmd: string): string {
  return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim()
}

/** Copies `path` (following links to the real file, keeping the link) and what it loads. */
function present(p: string): boolean {
  try {
    lstatSync(p)
    return true
  } catch {
    return false
  }
}

function copyWithLibs(root: string, path: string): void {
  const dest = join(root, path)
  if (present(dest)) return
  mkdirSync(dirname(dest), { recursive: true })
  const st = lstatSync(path)
  if (st.isSymbolicLink()) {
    const target = readlinkSync(path)
    symlinkSync(target, dest)
    copyWithLibs(root, realpathSync(path))
    return
  }
  copyFileSync(path, dest)
  chmodSync(dest, st.mode & 0o7777)
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' })
  for (const m of ldd.stdout.matchAll(/(\/\S+) \(0x/g)) copyWithLibs(root, m[1])
}

export function makeScratchRoot(root: string, commands: string[], extraFiles: string[] = []): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'proc', 'dev', 'tmp', 'run', 'etc', 'var/lib']) mkdirSync(join(root, d), { recursive: true })
  if (!present(join(root, 'dev/null'))) writeFileSync(join(root, 'dev/null'), '') // /dev/null is bound over it on entry
  // The merged /usr of Debian 12 and Fedora: /bin, /lib … are links into /usr.
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) if (!present(join(root, d))) symlinkSync(`usr/${d}`, join(root, d))
  for (const c of commands) copyWithLibs(root, which(c))
  for (const f of extraFiles) copyWithLibs(root, f)
  // Names for `install -o root -g root`
  if (!present(join(root, 'etc/passwd'))) writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  if (!present(join(root, 'etc/group'))) writeFileSync(join(root, 'etc/group'), 'root:x:0:\n')
}

/** Runs `argv` inside the root as root, with a fresh /proc; returns status and output. */
export function inRoot(root: string, argv: string[], input?: string) {
  const script = 'mount -t proc proc "$0/proc" && mount --bind /dev/null "$0/dev/null" && exec chroot "$0" "$@"'
  const r = spawnSync('unshare', ['--mount', '--pid', '--fork', 'sh', '-c', script, root, ...argv], {
    encoding: 'utf8',
    input,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    timeout: 60_000,
  })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

/** Every path under root (directories with a trailing /), for before/after comparisons. */
export function listTree(root: string, skip: string[] = []): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      const rel = relative(root, p)
      if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue
      out.push(e.isDirectory() ? `${rel}/` : rel)
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p)
    }
  }
  walk(root)
  return out.sort()
}
