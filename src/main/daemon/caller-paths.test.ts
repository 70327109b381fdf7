// Paths the CLI sends to a daemon: relative ones are made absolute where the user runs the
// command, as the backend would read them there; names stay names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withAbsolutePaths } from './caller-paths'

let cwd: string
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'hearth-caller-paths-'))
  writeFileSync(join(cwd, 'model.gguf'), 'GGUF')
  mkdirSync(join(cwd, 'qwen'))
  writeFileSync(join(cwd, 'qwen', 'q.gguf'), 'GGUF')
})
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

describe('withAbsolutePaths', () => {
  it('resolves relative files in path fields; leaves names, folders named like models, ~ and absolute paths', () => {
    const input = {
      targets: ['model.gguf', './model.gguf', 'qwen/q.gguf', 'qwen', 'llama3.2:3b', '~/m.gguf', '/abs/x.gguf', './missing.gguf'],
      lazy: true,
    }
    expect(withAbsolutePaths(input, cwd)).toEqual({
      targets: [join(cwd, 'model.gguf'), join(cwd, 'model.gguf'), join(cwd, 'qwen/q.gguf'), 'qwen', 'llama3.2:3b', '~/m.gguf', '/abs/x.gguf', './missing.gguf'],
      lazy: true,
    })
  })

  it('reaches nested fields (plan models, drafts, projectors) and no other fields', () => {
    const plan = { models: [{ target: 'model.gguf', mmproj: 'auto', draft: { target: './qwen/q.gguf' } }], objective: 'model.gguf' }
    expect(withAbsolutePaths(plan, cwd)).toEqual({
      models: [{ target: join(cwd, 'model.gguf'), mmproj: 'auto', draft: { target: join(cwd, 'qwen/q.gguf') } }],
      objective: 'model.gguf',
    })
    expect(withAbsolutePaths({ model: 'model.gguf' }, cwd)).toEqual({ model: join(cwd, 'model.gguf') })
    expect(withAbsolutePaths(undefined, cwd)).toBeUndefined()
  })
})
