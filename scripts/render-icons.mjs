#!/usr/bin/env node
// Renders assets/icons/hearth.svg to the PNG sizes the desktop, the tray and electron-builder
// want, with Debian's Chromium (no image tools needed). Run after editing the SVG.
import { chromium } from '@playwright/test'
import { readFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const svg = readFileSync(join(root, 'assets/icons/hearth.svg'), 'utf8')
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
const page = await browser.newPage()
mkdirSync(join(root, 'assets/icons/png'), { recursive: true })
for (const size of [16, 22, 24, 32, 48, 64, 128, 256, 512]) {
  await page.setViewportSize({ width: size, height: size })
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`)
  await page.screenshot({ path: join(root, `assets/icons/png/${size}x${size}.png`), omitBackground: true })
}
await page.setViewportSize({ width: 256, height: 256 })
await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', '<svg width="256" height="256" ')}</body></html>`)
await page.screenshot({ path: join(root, 'assets/icons/hearth.png'), omitBackground: true })
await browser.close()
console.log('icons written to assets/icons/')
