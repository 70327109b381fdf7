// The layer arrows of DESIGN.md are enforced by eslint; this checks that the rules really fire.
import { describe, expect, it } from 'vitest'
import { ESLint } from 'eslint'

const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname })

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath })
  return res.messages.map((m) => m.ruleId ?? m.message)
}

describe('layer rules', () => {
  it('src/shared cannot use node: APIs or other layers', async () => {
    expect(await ruleIds("import { readFile } from 'node:fs'\nexport const x = readFile\n", 'src/shared/x.ts')).toContain('no-restricted-imports')
    expect(await ruleIds("import { x } from '../main/backend'\nexport const y = x\n", 'src/shared/x.ts')).toContain('no-restricted-imports')
  })
  it('the renderer cannot import src/main or Node', async () => {
    expect(await ruleIds("import { createBackend } from '../../main/backend'\nexport const y = createBackend\n", 'src/renderer/src/x.ts')).toContain('no-restricted-imports')
    expect(await ruleIds("import { readFile } from 'node:fs'\nexport const y = readFile\n", 'src/renderer/src/x.ts')).toContain('no-restricted-imports')
  })
  it('only src/main/electron imports electron', async () => {
    expect(await ruleIds("import { app } from 'electron'\nexport const y = app\n", 'src/main/services/x.ts')).toContain('no-restricted-imports')
    expect(await ruleIds("import { app } from 'electron'\nexport const y = app\n", 'src/main/electron/x.ts')).not.toContain('no-restricted-imports')
    expect(await ruleIds("import './electron/app'\n", 'src/main/cli.ts')).toContain('no-restricted-imports')
  })
})
