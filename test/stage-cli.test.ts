// `hearth stage` → `hearth status` → `hearth off` as a user runs them, as root in a private mount
// namespace (the helper's own tests cover its hostile inputs and crashes).
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { writeGguf } from './helpers/gguf-writer'
import { llamaShape } from './helpers/model-shapes'

const root = new URL('..', import.meta.url).pathname
const isRoot = process.getuid?.() === 0
const hearth = `node ${join(root, 'bin/hearth.js')}`

/** What the helper stages (model files only): a GGUF v3 magic in front of random bytes. */
function stageableBytes(n: number): Buffer {
  const bytes = randomBytes(n)
  bytes.write('GGUF', 0, 'latin1')
  bytes.writeUInt32LE(3, 4)
  return bytes
}

describe.skipIf(!isRoot)('hearth stage / status / off (root, unshare -m)', () => {
  it('stages a file, reports it staged from mountinfo, and off leaves nothing', () => {
    expect(spawnSync('make', ['-C', join(root, 'src/helper')], { encoding: 'utf8' }).status).toBe(0)
    const dir = mkdtempSync(join(root, 'tmp-stage-cli-'))
    try {
      const file = join(dir, 'model one.gguf')
      const bytes = stageableBytes(4 << 20)
      writeFileSync(file, bytes)
      const script = [
        `${hearth} stage --json "${file}" > /dev/null`,
        `${hearth} status --json "${file}"`,
        'echo ---',
        `cmp "${file}" "${dir}/orig" && echo same-bytes`,
        `findmnt -n -o FSTYPE -T "${file}"`,
        'echo ---',
        `${hearth} off --json > /dev/null`,
        `findmnt -n -o FSTYPE -T "${file}"`,
        'ls /run/hearth 2>/dev/null | wc -l',
      ].join('\n')
      writeFileSync(join(dir, 'orig'), bytes)
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script], { encoding: 'utf8', cwd: root, env: { ...process.env, HOME: dir } })
      expect(r.status, r.stderr).toBe(0)
      const [status, staged, after] = r.stdout.split('---\n')
      expect(JSON.parse(status)).toEqual([{ path: file, bytes: 4 << 20, residentBytes: 4 << 20, staged: true }])
      expect(staged.trim().split('\n')).toEqual(['same-bytes', 'tmpfs'])
      const [fstypeAfter, leftUnderRun] = after.trim().split('\n')
      expect(fstypeAfter).not.toBe('tmpfs')
      expect(leftUnderRun).toBe('0')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('unstage of a model and a file outside the catalog names both', async () => {
    expect(spawnSync('make', ['-C', join(root, 'src/helper')], { encoding: 'utf8' }).status).toBe(0)
    const dir = mkdtempSync(join(root, 'tmp-stage-cli-'))
    try {
      mkdirSync(join(dir, 'models'))
      await writeGguf(join(dir, 'models', 'tiny.gguf'), llamaShape({ layers: 2, embd: 256, heads: 4, headsKv: 2, ff: 512, vocab: 2048, fileType: 'Q8_0', name: 'tiny-one' }))
      const loose = join(dir, 'loose.gguf')
      writeFileSync(loose, stageableBytes(1 << 20))
      const script = [
        `${hearth} models --add-folder "${dir}/models" > /dev/null`,
        `${hearth} stage tiny "${loose}" > /dev/null`,
        `${hearth} unstage tiny "${loose}"`,
        `${hearth} off > /dev/null`,
      ].join('\n')
      const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'cfg'), HEARTH_NO_DAEMON: '1' }
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script], { encoding: 'utf8', cwd: root, env })
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^unstage tiny, ${loose.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unstaged 2 files`, 'm'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
