#!/usr/bin/env node
// Renders assets/icons/hearth.svg to the PNG sizes the desktop and electron-builder want, and
// assets/icons/tray.svg to the tray icons: one per state (idle, working, staged, problem) and
// panel (light, dark) at the sizes Linux trays use (16, 22, 24, 32, 48, each also @2x), with
// Debian's Chromium (no image tools needed). Run after editing either SVG.
import { chromium } from '@playwright/test'
import { readFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const svg = readFileSync(join(root, 'assets/icons/hearth.svg'), 'utf8')
const tray = readFileSync(join(root, 'assets/icons/tray.svg'), 'utf8')
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
const page = await browser.newPage()

async function render(source, size, path) {
  await page.setViewportSize({ width: size, height: size })
  await page.setContent(`<html><body style="margin:0;background:transparent">${source.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`)
  await page.screenshot({ path, omitBackground: true })
}

mkdirSync(join(root, 'assets/icons/png'), { recursive: true })
for (const size of [16, 22, 24, 32, 48, 64, 128, 256, 512]) await render(svg, size, join(root, `assets/icons/png/${size}x${size}.png`))
await render(svg, 256, join(root, 'assets/icons/hearth.png'))

// Panels: "dark" means a dark panel (GNOME, KDE Breeze Dark), so a light glyph; "light" the reverse.
const glyph = { dark: '#f2f2f2', light: '#2a2a2a' }
const badge = { working: '#f28c18', staged: '#6d5efc', problem: '#e5383b' }
export const trayStates = ['idle', 'working', 'staged', 'problem']
export const traySizes = [16, 22, 24, 32, 48]
mkdirSync(join(root, 'assets/icons/tray'), { recursive: true })
for (const state of trayStates) {
  for (const panel of ['light', 'dark']) {
    const css = [
      `.flame,.hearthstone{fill:${glyph[panel]}}`,
      `.core{fill:${panel === 'dark' ? '#2a2a2a' : '#f2f2f2'};opacity:.55}`,
      '.badge{display:none}',
      state === 'idle' ? '' : `.badge.${state}{display:inline} .badge.${state}>*:first-child{fill:${badge[state]};stroke:${panel === 'dark' ? '#2a2a2a' : '#f2f2f2'};stroke-width:2.5}`,
      '.mark{fill:none;stroke:#fff;stroke-width:3.2;stroke-linecap:round}',
      '.badge.staged .mark{stroke-width:2.4}',
    ].join('\n')
    const source = tray.replace('/*VARIANT*/', css)
    for (const size of traySizes) {
      await render(source, size, join(root, `assets/icons/tray/hearth-${state}-${panel}-${size}.png`))
      await render(source, size * 2, join(root, `assets/icons/tray/hearth-${state}-${panel}-${size}@2x.png`))
    }
  }
}
await browser.close()
console.log('icons written to assets/icons/ and assets/icons/tray/')
