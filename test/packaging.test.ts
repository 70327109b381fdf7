// electron-builder cannot fetch Electron here, so check what can be checked: the config against
// electron-builder's own validator, the polkit policy against polkit's DTD, the .desktop files,
// the install scripts in a scratch root, the helper's release hardening, and that packaging says
// what it could not fetch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { lookup } from 'node:dns/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { unitText } from '../src/main/daemon/systemd'
import { installedHelperPath } from '../src/main/helper-client'
import { inRoot, listTree, makeScratchRoot } from './support/scratch-root'
// @ts-expect-error: a plain .mjs build script, shared with `npm run package`
import { buildReleaseHelpers, installedHelpers as helperNames } from '../scripts/release-helper.mjs'

const installedHelpers = (helperNames as string[]).map((h) => `/usr/libexec/hearth/${h}`)

const root = new URL('..', import.meta.url).pathname
const require = createRequire(import.meta.url)
let tmp: string

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'hearth-packaging-'))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

interface BuilderConfig {
  linux: { target: string[]; icon: string; executableName: string }
  deb: { afterInstall: string; afterRemove: string; depends: string[] }
  rpm: { afterInstall: string; afterRemove: string }
  extraResources: { from: string; to: string; filter?: string[] }[]
  electronFuses: Record<string, boolean>
  npmRebuild: boolean
}

function loadYaml(file: string): Record<string, unknown> {
  const yaml = require('js-yaml') as { load(s: string): unknown }
  return yaml.load(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>
}
const config = () => loadYaml('electron-builder.yml') as unknown as BuilderConfig

describe('electron-builder config', () => {
  it('passes electron-builder validation', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(c: unknown, log: { isEnabled: boolean; add(): void }): Promise<void>
    }
    const c = loadYaml('electron-builder.yml')
    await expect(validateConfiguration(c, { isEnabled: false, add() {} })).resolves.toBeUndefined()
    // and a broken one is refused, so the check above means something
    await expect(validateConfiguration({ ...c, linux: { targte: 'deb' } }, { isEnabled: false, add() {} })).rejects.toThrow()
  })

  it('builds AppImage, .deb and .rpm, with the release fuses', () => {
    const c = config()
    expect(c.linux.target.sort()).toEqual(['AppImage', 'deb', 'rpm'])
    expect(c.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
    })
    expect(c.npmRebuild).toBe(false) // never rebuild native modules inside node_modules
    // the .deb and the .rpm run the same install scripts
    expect(c.rpm.afterInstall).toBe(c.deb.afterInstall)
    expect(c.rpm.afterRemove).toBe(c.deb.afterRemove)
  })

  it('unpacks from the asar every runtime package that loads native code from disk (koffi, node-llama-cpp and its prebuilt binaries)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const manifest = (name: string) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> }
    // Runtime packages: the app's dependencies and the optional ones they bring (prebuilt binaries).
    const runtime = Object.keys(pkg.dependencies).flatMap((d) => [d, ...Object.keys(manifest(d).optionalDependencies ?? {})])
    const hasNative = (dir: string, depth = 0): boolean =>
      depth < 6 && existsSync(dir) && readdirSync(dir, { withFileTypes: true }).some((e) => (e.isFile() && e.name.endsWith('.node')) || (e.isDirectory() && e.name !== 'node_modules' && hasNative(join(dir, e.name), depth + 1)))
    const native = runtime.filter((name) => hasNative(join(root, 'node_modules', name)))
    expect(native).toEqual(expect.arrayContaining(['@koromix/koffi-linux-x64', '@node-llama-cpp/linux-x64']))
    const unpack = (config() as unknown as { asarUnpack: string[] }).asarUnpack
    const covered = (name: string) => unpack.some((g) => g === `node_modules/${name}/**` || (name.startsWith('@') && g === `node_modules/${name.split('/')[0]}/**`))
    expect(native.filter((n) => !covered(n))).toEqual([])
  })

  it('ships every file the install scripts install, and those files exist', () => {
    const res = new Map(config().extraResources.map((r) => [r.to, r.from]))
    expect(res.get('helper')).toBe('build/helper')
    const helpers = config().extraResources.find((r) => r.to === 'helper')!.filter!
    expect(helpers.sort()).toEqual([...(helperNames as string[])].sort())
    expect(res.get('polkit')).toBe('assets/polkit')
    expect(res.get('systemd')).toBe('assets/linux/systemd')
    expect(res.get('bin/hearth')).toBe('assets/linux/hearth')
    expect(res.get('icons')).toBe('assets/icons')
    for (const from of res.values()) if (!from.startsWith('build/')) expect(existsSync(join(root, from)), from).toBe(true)
    expect(existsSync(join(root, config().linux.icon, '512x512.png'))).toBe(true)
    for (const s of [config().deb.afterInstall, config().deb.afterRemove, 'assets/linux/hearth']) {
      expect(statSync(join(root, s)).mode & 0o111).not.toBe(0)
      expect(spawnSync('sh', ['-n', join(root, s)]).status).toBe(0)
      // electron-builder expands ${letters} in these scripts and fails on any name it does not know
      expect(readFileSync(join(root, s), 'utf8')).not.toMatch(/\$\{[a-zA-Z]+\}/)
    }
  })

  it('ships the daemon units `hearth service` would write for the installed launcher', () => {
    expect(readFileSync(join(root, 'assets/linux/systemd/hearth.service'), 'utf8')).toBe(unitText('system', ['/usr/bin/hearth']))
    expect(readFileSync(join(root, 'assets/linux/systemd/hearth-user.service'), 'utf8')).toBe(unitText('user', ['/usr/bin/hearth']))
  })
})

describe('polkit policy', () => {
  const policies = readdirSync(join(root, 'assets/polkit')).filter((f) => f.endsWith('.policy'))

  it('validates against polkit’s own DTD', () => {
    const dtd = '/usr/share/polkit-1/policyconfig-1.dtd'
    expect(existsSync(dtd), `${dtd} is missing: apt-get install polkitd (.ci/run does)`).toBe(true)
    expect(policies.length).toBeGreaterThan(0)
    for (const p of policies) execFileSync('xmllint', ['--noout', '--dtdvalid', dtd, join(root, 'assets/polkit', p)])
    // and the validator refuses a policy without defaults, so the check above means something
    const broken = join(tmp, 'broken.policy')
    writeFileSync(broken, readFileSync(join(root, 'assets/polkit', policies[0]), 'utf8').replace(/<defaults>[\s\S]*?<\/defaults>/, ''))
    expect(spawnSync('xmllint', ['--noout', '--dtdvalid', dtd, broken]).status).not.toBe(0)
  })

  it('every action runs a helper the packages install, and asks an admin every time', () => {
    expect(installedHelpers).toContain(installedHelperPath)
    const execPaths = new Set<string>()
    for (const p of policies) {
      const xml = readFileSync(join(root, 'assets/polkit', p), 'utf8')
      const actions = [...xml.matchAll(/<action id="([^"]+)">([\s\S]*?)<\/action>/g)]
      expect(actions.length).toBeGreaterThan(0)
      for (const [, id, body] of actions) {
        expect(id).toMatch(/^com\.hearth\./)
        const execPath = /<annotate key="org\.freedesktop\.policykit\.exec\.path">([^<]+)<\/annotate>/.exec(body)?.[1]
        expect(installedHelpers, id).toContain(execPath)
        expect(execPaths.has(execPath!), `${id}: a second action on the same binary`).toBe(false)
        execPaths.add(execPath!)
        const d = (k: string) => new RegExp(`<${k}>([^<]+)</${k}>`).exec(body)?.[1]
        expect([d('allow_any'), d('allow_inactive'), d('allow_active')], id).toEqual(['no', 'no', 'auth_admin'])
      }
    }
  })
})

describe('.desktop files', () => {
  it('pass desktop-file-validate', () => {
    for (const f of ['assets/linux/hearth.desktop']) execFileSync('desktop-file-validate', [join(root, f)]) // throws with its complaints
    const broken = join(tmp, 'broken.desktop')
    writeFileSync(broken, '[Desktop Entry]\nName=Hearth\nExec=hearth\n')
    expect(spawnSync('desktop-file-validate', [broken]).status).not.toBe(0)
  })
})

describe('maintainer scripts in a scratch root', () => {
  let scratch: string
  let baseline: string[]
  const helperCmd = ['sh', 'install', 'chmod', 'rm', 'rmdir', 'grep', 'basename', 'unshare', 'timeout', 'cat', 'mkdir']

  beforeAll(() => {
    scratch = join(tmp, 'root')
    // What a Debian system with polkit and systemd has, and what the package itself unpacked.
    makeScratchRoot(scratch, helperCmd)
    for (const d of ['usr/libexec', 'usr/lib/systemd/system', 'usr/lib/systemd/user', 'usr/share/polkit-1/actions', 'usr/share/applications', 'etc/sysctl.d', 'opt/Hearth/resources/helper', 'opt/Hearth/resources/polkit', 'opt/Hearth/resources/systemd', 'opt/Hearth/resources/bin']) {
      mkdirSync(join(scratch, d), { recursive: true })
    }
    const helpers = buildReleaseHelpers(join(tmp, 'helper')) as string[]
    for (const h of helpers) copyFileSync(h, join(scratch, 'opt/Hearth/resources/helper', basename(h)))
    for (const p of readdirSync(join(root, 'assets/polkit'))) copyFileSync(join(root, 'assets/polkit', p), join(scratch, 'opt/Hearth/resources/polkit', p))
    for (const u of ['hearth.service', 'hearth-user.service']) copyFileSync(join(root, 'assets/linux/systemd', u), join(scratch, 'opt/Hearth/resources/systemd', u))
    copyFileSync(join(root, 'assets/linux/hearth'), join(scratch, 'opt/Hearth/resources/bin/hearth'))
    // The Electron binary, as a stand-in that says how it was called
    writeFileSync(join(scratch, 'opt/Hearth/hearth'), '#!/bin/sh\necho "hearth-binary HEARTH_LAUNCHER=$HEARTH_LAUNCHER $*"\n')
    chmodSync(join(scratch, 'opt/Hearth/hearth'), 0o755)
    writeFileSync(join(scratch, 'opt/Hearth/chrome-sandbox'), '')
    for (const s of ['after-install.sh', 'after-remove.sh']) copyFileSync(join(root, 'assets/linux', s), join(scratch, s))
    // the helper itself runs in here (for `off`): its libraries too
    makeScratchRoot(scratch, [], helpers)
    baseline = listTree(scratch, ['proc', 'run'])
  })

  const installed = ['usr/bin/hearth', 'usr/libexec/hearth/', ...installedHelpers.map((p) => p.slice(1)), 'usr/lib/systemd/system/hearth.service', 'usr/lib/systemd/user/hearth.service']

  it('install puts the helper root-owned at its polkit path, the policy, the units and `hearth` on PATH', () => {
    const r = inRoot(scratch, ['/bin/sh', '/after-install.sh', 'configure'])
    expect(r.status, r.out).toBe(0)
    const after = listTree(scratch, ['proc', 'run'])
    const policies = readdirSync(join(root, 'assets/polkit')).map((p) => `usr/share/polkit-1/actions/${p}`)
    expect(after.filter((p) => !baseline.includes(p)).sort()).toEqual([...installed, ...policies].sort())
    for (const h of installedHelpers) {
      const st = statSync(join(scratch, h))
      expect([st.uid, st.gid, st.mode & 0o7777], h).toEqual([0, 0, 0o755])
    }
    for (const p of policies) expect(statSync(join(scratch, p)).mode & 0o777).toBe(0o644)
    expect(readFileSync(join(scratch, 'usr/lib/systemd/system/hearth.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/hearth daemon --autostart$/m)
  })

  it('`hearth` opens the app, and runs commands headless in the same binary', () => {
    expect(inRoot(scratch, ['/usr/bin/hearth']).out.trim()).toBe('hearth-binary HEARTH_LAUNCHER=/usr/bin/hearth')
    expect(inRoot(scratch, ['/usr/bin/hearth', '--hidden', '--autostart']).out.trim()).toBe('hearth-binary HEARTH_LAUNCHER=/usr/bin/hearth --hidden --autostart')
    expect(inRoot(scratch, ['/usr/bin/hearth', 'models', '--json']).out.trim()).toBe(
      'hearth-binary HEARTH_LAUNCHER=/usr/bin/hearth --ozone-platform=headless --disable-gpu --no-sandbox --cli models --json',
    )
  })

  it('an upgrade keeps everything in place', () => {
    for (const arg of ['upgrade', '1']) {
      const r = inRoot(scratch, ['/bin/sh', '/after-remove.sh', arg])
      expect(r.status, r.out).toBe(0)
      for (const p of installed) expect(existsSync(join(scratch, p)), `${arg}: ${p}`).toBe(true)
    }
  })

  it('remove leaves nothing behind (purge also the system service’s settings)', () => {
    // What Hearth itself writes outside /opt while installed: persisted inotify limits, and the
    // system service's pins and state.
    mkdirSync(join(scratch, 'etc/hearth'), { recursive: true })
    writeFileSync(join(scratch, 'etc/hearth/settings.json'), '{"pins":[]}\n')
    mkdirSync(join(scratch, 'var/lib/hearth'), { recursive: true })
    writeFileSync(join(scratch, 'etc/sysctl.d/60-hearth-inotify.conf'), 'fs.inotify.max_user_instances = 1024\n')
    const r = inRoot(scratch, ['/bin/sh', '/after-remove.sh', 'remove'])
    expect(r.status, r.out).toBe(0)
    expect(r.out).toBe('') // the installed helper answered `off` before it was removed
    // Debian keeps configuration until purge
    expect(listTree(scratch, ['proc', 'run']).filter((p) => !baseline.includes(p))).toEqual(['etc/hearth/', 'etc/hearth/settings.json', 'var/lib/hearth/'])
    const purge = inRoot(scratch, ['/bin/sh', '/after-remove.sh', 'purge'])
    expect(purge.status, purge.out).toBe(0)
    expect(listTree(scratch, ['proc', 'run'])).toEqual(baseline)
  })

  it('an rpm erase ($1 = 0) leaves nothing behind either', () => {
    expect(inRoot(scratch, ['/bin/sh', '/after-install.sh', '1']).status).toBe(0)
    mkdirSync(join(scratch, 'etc/hearth'), { recursive: true })
    writeFileSync(join(scratch, 'etc/hearth/settings.json'), '{}\n')
    expect(inRoot(scratch, ['/bin/sh', '/after-remove.sh', '0']).status).toBe(0)
    expect(listTree(scratch, ['proc', 'run'])).toEqual(baseline)
  })

  it('removes only the policy file it installed (com.hearth…, not dev.hearth…), and not another package’s /usr/bin/hearth', () => {
    expect(inRoot(scratch, ['/bin/sh', '/after-install.sh', 'configure']).status).toBe(0)
    expect(existsSync(join(scratch, 'usr/share/polkit-1/actions/com.hearth.helper.policy'))).toBe(true)
    writeFileSync(join(scratch, 'usr/share/polkit-1/actions/org.other.policy'), '<policyconfig/>')
    expect(inRoot(scratch, ['/bin/sh', '/after-remove.sh', 'remove']).status).toBe(0)
    expect(readdirSync(join(scratch, 'usr/share/polkit-1/actions'))).toEqual(['org.other.policy'])
    rmSync(join(scratch, 'usr/share/polkit-1/actions/org.other.policy'))
    writeFileSync(join(scratch, 'usr/bin/hearth'), '#!/bin/sh\necho someone else\n')
    expect(inRoot(scratch, ['/bin/sh', '/after-remove.sh', 'remove']).status).toBe(0)
    expect(readFileSync(join(scratch, 'usr/bin/hearth'), 'utf8')).toMatch(/someone else/)
    rmSync(join(scratch, 'usr/bin/hearth'))
  })
})

describe('the helper release build', () => {
  it.each(helperNames as string[])('%s is hardened, and Debian’s hardening-check says so', (name) => {
    const bin = (buildReleaseHelpers(join(tmp, 'hardened')) as string[])[(helperNames as string[]).indexOf(name)]
    const r = spawnSync('hardening-check', ['--nocfprotection', bin], { encoding: 'utf8' })
    expect(r.error, 'hardening-check is missing: .ci/run installs it from devscripts').toBeUndefined()
    expect(r.status, r.stdout).toBe(0)
    for (const line of ['Position Independent Executable: yes', 'Stack protected: yes', 'Fortify Source functions: yes', 'Read-only relocations: yes', 'Immediate binding: yes']) {
      expect(r.stdout).toContain(line)
    }
    // Control-flow protection: the compiler's half (endbr64 landing pads) is checked here; the
    // ELF note hardening-check wants also needs every linked object to carry it, and Debian 12's
    // crt1.o does not (Debian's own /bin/ls fails that check here too).
    const disasm = execFileSync('objdump', ['-d', '--no-show-raw-insn', bin], { encoding: 'utf8', maxBuffer: 64 << 20 })
    expect(disasm).toMatch(/endbr64/)
    const crtHasIbt = /IBT/.test(spawnSync('readelf', ['-n', '/usr/lib/x86_64-linux-gnu/crt1.o'], { encoding: 'utf8' }).stdout)
    const full = spawnSync('hardening-check', [bin], { encoding: 'utf8' })
    expect(full.stdout).toMatch(crtHasIbt ? /Control flow integrity: yes/ : /Control flow integrity: no/)
  })

  it('and a build without the hardening fails the same check (so it means something)', () => {
    const plain = join(tmp, 'plain-helper')
    const sources = /^SRC = (.+)$/m.exec(readFileSync(join(root, 'src/helper/Makefile'), 'utf8'))![1].trim().split(/\s+/)
    execFileSync('gcc', ['-O2', '-no-pie', '-fno-stack-protector', '-o', plain, ...sources.map((f) => join(root, 'src/helper', f))])
    expect(spawnSync('hardening-check', ['--nocfprotection', plain]).status).not.toBe(0)
  })
})

describe('npm run package', () => {
  function runPackage(env: Record<string, string>) {
    return spawnSync(process.execPath, [join(root, 'scripts/package.mjs')], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: tmp, electron_config_cache: join(tmp, 'no-electron-cache'), ...env },
      encoding: 'utf8',
      timeout: 120_000,
    })
  }

  it('stops with a message naming what it could not fetch, and where from', async () => {
    // a mirror on a port nothing listens on
    const port = await new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => ok(p))
      })
    })
    const r = runPackage({ ELECTRON_MIRROR: `http://127.0.0.1:${port}/` })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/could not fetch the Electron \d+\.\d+\.\d+ runtime for linux-x64 \(electron-v[\d.]+-linux-x64\.zip\)/)
    expect(r.stderr).toContain(`from http://127.0.0.1:${port}/v`)
    expect(r.stderr).toMatch(/ECONNREFUSED/)
  })

  it('here, without a mirror, names GitHub', async () => {
    const online = await lookup('github.com').then(
      () => true,
      () => false,
    )
    if (online) return expect.fail('github.com resolves here: this machine can fetch, so packaging would really run; run `npm run package` instead')
    const r = runPackage({})
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/from https:\/\/github\.com\/electron\/electron\/releases\/download\/v[\d.]+\/electron-v[\d.]+-linux-x64\.zip/)
  })
})
