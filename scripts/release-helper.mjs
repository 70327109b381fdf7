// Builds the privileged helper as packages ship it: the Makefile's hardening (PIE, stack
// protector, _FORTIFY_SOURCE, full RELRO, BIND_NOW) plus stack-clash protection and CET
// (-fcf-protection). `npm run package` and the packaging test build it through this one function.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

export const releaseCflags = '-O2 -g -fstack-clash-protection -fcf-protection=full'

/** Builds <outDir>/hearth-helper; returns its path. */
export function buildReleaseHelper(outDir = join(root, 'build', 'helper')) {
  const target = join(outDir, 'hearth-helper')
  execFileSync('make', ['-C', join(root, 'src', 'helper'), '-B', `OUT=${outDir}`, `CFLAGS=${releaseCflags}`, target], { stdio: ['ignore', 'ignore', 'inherit'] })
  return target
}
