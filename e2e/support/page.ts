import { expect, type Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'

/** Collects console errors and page errors; CSP violations show up here too. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(e.message))
  return errors
}

export function row(page: Page, name: string) {
  return page.getByTestId('model-row').filter({ has: page.getByTestId('model-name').getByText(name, { exact: true }) })
}

/** Resident bytes the row's bar shows right now (null while loading or unknown). */
export async function shownResidentBytes(page: Page, name: string): Promise<number | null> {
  const v = await row(page, name).getByTestId('residency').getAttribute('data-resident-bytes')
  return v === null ? null : Number(v)
}

/**
 * Drops a file's pages from the cache (posix_fadvise DONTNEED through dd); never the whole cache.
 * Flushes it first: DONTNEED skips dirty pages, and fixture files were written moments ago.
 */
export function evict(path: string): void {
  execFileSync('sync', [path])
  execFileSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'of=/dev/null'], { stdio: 'ignore' })
}

/** Reads a file the way a user would, from outside Hearth. */
export function catFile(path: string): void {
  execFileSync('sh', ['-c', 'cat "$1" > /dev/null', 'cat', path])
}

export async function waitForRows(page: Page, n: number): Promise<void> {
  await expect(page.getByTestId('model-row')).toHaveCount(n, { timeout: 20_000 })
}

/** Reads the [from, to) share of a file (0..1) from outside, as a loader touching part of it would. */
export function readShare(path: string, bytes: number, from: number, to: number): void {
  const pages = Math.ceil(bytes / 4096)
  const skip = Math.floor(from * pages)
  const count = Math.max(0, Math.ceil(to * pages) - skip)
  if (count > 0) execFileSync('dd', [`if=${path}`, 'of=/dev/null', 'bs=4096', `skip=${skip}`, `count=${count}`], { stdio: 'ignore' })
}
