import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stagedMountPoints } from './mounts'

describe('staged mount points', () => {
  it('finds file binds out of the "hearth" tmpfs, unescaping spaces, and nothing else', () => {
    const text = [
      '22 1 253:0 / / rw,relatime - ext4 /dev/vda rw',
      '90 22 0:50 / /run/hearth/ram rw,nosuid,nodev,noexec - tmpfs hearth rw,size=1048576k',
      '91 22 0:50 /7f3a.gguf /home/u/models/My\\040Model.gguf ro,nosuid,nodev - tmpfs hearth rw',
      '92 22 0:51 /x /srv/other rw - tmpfs tmpfs rw',
    ].join('\n')
    expect([...stagedMountPoints(text)]).toEqual(['/home/u/models/My Model.gguf'])
  })

  it.skipIf(process.getuid?.() !== 0)('reads a real bind of a "hearth" tmpfs in a private mount namespace (runs as root only: unshare -m and mount)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-mounts-'))
    try {
      writeFileSync(join(dir, 'model with space.gguf'), 'original')
      const script = `
        set -e
        mkdir -p ${dir}/ram
        mount -t tmpfs -o size=1m hearth ${dir}/ram
        echo copy > ${dir}/ram/c
        mount --bind -o ro ${dir}/ram/c "${dir}/model with space.gguf"
        node --import tsx -e "import('${join(process.cwd(), 'src/main/services/staging/mounts.ts')}').then(async m => console.log(JSON.stringify([...(await m.readStagedMountPoints())])))"
      `
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', cwd: process.cwd() })
      expect(r.status, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual([join(dir, 'model with space.gguf')])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
