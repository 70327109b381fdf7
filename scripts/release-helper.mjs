// Builds the privileged helper as packages ship it: the Makefile's hardening (PIE, stack
// protector, _FORTIFY_SOURCE, full RELRO, BIND_NOW) plus stack-clash protection and CET
// (-fcf-protection). `npm run package` and the packaging test build them through this one function.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

export const releaseCflags = '-O2 -g -fstack-clash-protection -fcf-protection=full'

/** The binaries packages install in /usr/libexec/hearth/ (src/helper/README.md) */
export const installedHelpers = ['hearth-helper', 'hearth-helper-admin']

/** Builds every installed helper into outDir; returns their paths, in installedHelpers' order. */
export function buildReleaseHelpers(outDir = join(root, 'build', 'helper')) {
  const targets = installedHelpers.map((h) => join(outDir, h))
  execFileSync('make', ['-C', join(root, 'src', 'helper'), '-B', `OUT=${outDir}`, `CFLAGS=${releaseCflags}`, ...targets], { stdio: ['ignore', 'ignore', 'inherit'] })
  return targets
}
