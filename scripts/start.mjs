#!/usr/bin/env node
// `npm start`: the desktop window where Electron can run, else `hearth serve` for a browser.
// npm 11 does not run Electron's download script on install, so fetch the binary here, once.
import { existsSync, readFileSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const electronDir = join(root, 'node_modules', 'electron')

function electronBinary() {
  try {
    const rel = readFileSync(join(electronDir, 'path.txt'), 'utf8').trim()
    const bin = join(electronDir, 'dist', rel)
    return existsSync(bin) ? bin : null
  } catch {
    return null
  }
}

if (!existsSync(join(root, 'out', 'main', 'cli.js')) || process.argv.includes('--build')) {
  const b = spawnSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'inherit' })
  if (b.status !== 0) process.exit(b.status ?? 1)
}

const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY)
let bin = electronBinary()
if (!bin && hasDisplay && existsSync(join(electronDir, 'install.js'))) {
  console.log('Fetching the Electron runtime (once)…')
  spawnSync(process.execPath, [join(electronDir, 'install.js')], { cwd: electronDir, stdio: 'inherit' })
  bin = electronBinary()
}

if (bin && hasDisplay) {
  const child = spawn(bin, [root], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 0))
} else {
  console.log(
    !hasDisplay
      ? 'No display here: starting `hearth serve`; open the address below in a browser.'
      : 'The Electron runtime could not be fetched: starting `hearth serve`; open the address below in a browser.',
  )
  const child = spawn(process.execPath, [join(root, 'bin', 'hearth.js'), 'serve', ...process.argv.slice(2).filter((a) => a !== '--build')], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 0))
}
