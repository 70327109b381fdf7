#!/usr/bin/env node
// `npm run package`: AppImage, .deb and .rpm in dist/. Builds the helper with release hardening
// and the app, then runs electron-builder. Packaging downloads the Electron runtime (and
// electron-builder's fpm and appimagetool) once; where that cannot be fetched, it stops and says
// exactly what it could not fetch, from where, and how to point it at a mirror.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { buildReleaseHelpers } from './release-helper.mjs'

const root = new URL('..', import.meta.url).pathname
const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version
const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
const zip = `electron-v${electronVersion}-linux-${arch}.zip`
const mirror = (process.env.ELECTRON_MIRROR ?? 'https://github.com/electron/electron/releases/download/').replace(/\/?$/, '/')
const electronUrl = `${mirror}v${electronVersion}/${zip}`
const cacheDir = process.env.electron_config_cache ?? process.env.ELECTRON_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'electron')

function fail(what, url, reason) {
  process.stderr.write(
    `npm run package: could not fetch ${what}\n  from ${url}\n  (${reason})\n` +
      'Packaging needs it once (it is cached afterwards). Run it where that address is reachable, or point\n' +
      'ELECTRON_MIRROR (Electron) and ELECTRON_BUILDER_BINARIES_MIRROR (fpm, appimagetool) at a mirror.\n',
  )
  process.exit(1)
}

/** Whether a URL answers at all (a HEAD, following redirects), with the reason when not. */
async function reachable(url) {
  try {
    const res = await fetch(url, { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(15_000) })
    return res.ok ? null : `HTTP ${res.status}`
  } catch (err) {
    const cause = err.cause ?? err
    return [cause.code, cause.hostname, cause.message].filter(Boolean).join(' ') || String(err)
  }
}

const cached = existsSync(cacheDir) && execFileSync('find', [cacheDir, '-name', zip], { encoding: 'utf8' }).trim() !== ''
if (!cached) {
  const why = await reachable(electronUrl)
  if (why) fail(`the Electron ${electronVersion} runtime for linux-${arch} (${zip})`, electronUrl, why)
}

buildReleaseHelpers()
execFileSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'inherit' })

const builder = spawn('npx', ['electron-builder', '--linux', '--publish', 'never', ...process.argv.slice(2)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
let log = ''
for (const s of [builder.stdout, builder.stderr]) s.on('data', (d) => ((log += d), process.stderr.write(d)))
builder.on('exit', (code) => {
  if (code === 0) return process.exit(0)
  // electron-builder names the host, not the file; say which download it was.
  const net = /(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET)\s*([\w.-]*)/.exec(log)
  if (net) {
    const url = /url=(\S+)/.exec(log)?.[1] ?? (/downloading\s+(\S+)/.exec(log)?.[1] ?? 'https://github.com/electron-userland/electron-builder-binaries/releases')
    fail('a tool electron-builder downloads (fpm, appimagetool or the Electron runtime)', url, `${net[1]} ${net[2]}`.trim())
  }
  process.exit(code ?? 1)
})
