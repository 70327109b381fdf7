#!/usr/bin/env node
// Runs the built CLI (out/main/cli.js). Builds it first when it is missing, so `npx hearth`
// works straight after a clone and `npm install`.
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write('hearth: building once (npm run build)…\n')
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0 || !existsSync(cli)) {
    process.stderr.write('hearth: the build failed; run `npm install && npm run build` in ' + root + '\n')
    process.exit(1)
  }
}
process.env.HEARTH_CLI_MAIN = '1'
await import(pathToFileURL(cli).href)
