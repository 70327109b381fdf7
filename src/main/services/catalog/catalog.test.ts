import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog, Model } from '../../../shared/api'
import { HearthError } from '../../../shared/errors'
import { createHub } from '../../hub'
import { makeModelHome, type ModelHome } from '../../../../test/fixtures/model-home'
import { writeGguf } from '../../../../test/helpers/gguf-writer'
import { llamaShape } from '../../../../test/helpers/model-shapes'
import { createCatalogService, type CatalogOptions } from './index'

let dir = ''
let home: ModelHome
let badHome: ModelHome

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-catalog-'))
  home = await makeModelHome(join(dir, 'good'))
  badHome = await makeModelHome(join(dir, 'bad'), { bad: true })
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function service(h: ModelHome, opts: CatalogOptions = {}, env: Record<string, string> = {}) {
  const hub = createHub()
  const events: Catalog[] = []
  hub.subscribe('catalog', (c) => events.push(c))
  const folders = [...h.folders]
  const svc = createCatalogService({ env: { ...h.env, ...env }, hub, settings: { get: () => ({ folders }) as never } }, opts)
  return { svc, events, folders }
}

const byKey = (m: { source: string; name: string }) => `${m.source}|${m.name}`
const sortFiles = <T extends { path: string }>(f: T[]) => [...f].sort((a, b) => a.path.localeCompare(b.path))

describe('catalog: sources', () => {
  it('finds every model of every source with the right files, sizes, roles and facts', async () => {
    const { svc } = service(home)
    const c = await svc.scan()
    expect(c.models.map(byKey).sort()).toEqual(home.models.map(byKey).sort())
    const got = new Map(c.models.map((m) => [byKey(m), m]))
    for (const want of home.models) {
      const m = got.get(byKey(want)) as Model
      expect(m.format, byKey(want)).toBe(want.format)
      expect(m.bytes, byKey(want)).toBe(want.bytes)
      expect(sortFiles(m.files)).toEqual(sortFiles(want.files))
      if (want.tags) expect(m.tags).toEqual(want.tags)
      if (want.architecture) expect(m.gguf?.architecture).toBe(want.architecture)
      if (want.format === 'gguf' && want.parameters) expect(m.gguf?.parameters, byKey(want)).toBe(want.parameters)
      if (want.dtype) expect(m.safetensors).toEqual({ dtype: want.dtype, parameters: want.parameters })
      expect(m.id.startsWith(`${want.source}:`)).toBe(true)
    }
    expect(c.skipped).toEqual([])
    expect(new Set(c.models.map((m) => m.id)).size).toBe(c.models.length)
  })

  it('dedupes Ollama tags that share weights and counts the blob once', async () => {
    const c = await service(home).svc.scan()
    const llama = c.models.filter((m) => m.tags?.includes('llama3.2:latest'))
    expect(llama).toHaveLength(1)
    expect(llama[0].tags).toEqual(['llama3.2:3b', 'llama3.2:latest'])
    expect(llama[0].files).toHaveLength(1)
    const llava = c.models.find((m) => m.name === 'llava:7b')!
    expect(llava.files.map((f) => f.role).sort()).toEqual(['projector', 'weights'])
    expect(c.models.find((m) => m.name === 'qwen3:30b-a3b')?.root).toBe(home.roots.ollamaSystem)
  })

  it('reports HF blobs (not snapshot links), index-listed shards, split GGUFs as one model and mmproj as projector', async () => {
    const c = await service(home).svc.scan()
    const qwen = c.models.find((m) => m.name === 'Qwen/Qwen2.5-0.5B-Instruct')!
    expect(qwen.files).toHaveLength(2)
    for (const f of qwen.files) expect(f.path).toMatch(/\/blobs\/[0-9a-f]{64}$/)
    const split = c.models.find((m) => m.name === 'big model-Q4_K_M')!
    expect(split.files.map((f) => f.path.split('/').pop())).toEqual([1, 2, 3].map((i) => `big model-Q4_K_M-0000${i}-of-00003.gguf`))
    const gemma = c.models.find((m) => m.name === 'gemma-3-4b-it-Q4_K_M')!
    expect(gemma.files.find((f) => f.role === 'projector')?.path).toMatch(/mmproj-model-f16\.gguf$/)
    expect(c.models.some((m) => /mmproj/.test(m.name))).toBe(false)
  })

  it('reports every root with where it came from', async () => {
    const c = await service(home).svc.scan()
    const root = (p: string) => c.roots.find((r) => r.path === p)
    expect(root(home.roots.lmstudio)).toEqual({ source: 'lmstudio', path: home.roots.lmstudio, exists: true, origin: 'default', models: 3 })
    expect(root(home.roots.ollamaSystem)?.models).toBe(1)
    expect(root(home.roots.folder)).toMatchObject({ source: 'folder', origin: 'added by you', models: 2 })
    expect(root(join(home.home, '.local', 'share', 'Jan', 'data', 'models'))).toMatchObject({ exists: false, models: 0 })
  })

  it('follows OLLAMA_MODELS, HF_HUB_CACHE, LLAMA_CACHE and the LM Studio pointer and downloadsFolder', async () => {
    const alt = join(dir, 'alt')
    const lmHome = join(alt, 'lm home')
    await mkdir(join(lmHome), { recursive: true })
    await writeFile(join(home.home, '.lmstudio-home-pointer'), lmHome + '\n')
    await writeFile(join(lmHome, 'settings.json'), JSON.stringify({ downloadsFolder: join(alt, 'downloads') }))
    await mkdir(join(alt, 'downloads', 'pub', 'repo'), { recursive: true })
    await writeGguf(join(alt, 'downloads', 'pub', 'repo', 'moved-Q4_K_M.gguf'), llamaShape({ layers: 1, embd: 256, heads: 4, headsKv: 4, ff: 256, vocab: 256 }))
    try {
      const env = { OLLAMA_MODELS: home.roots.ollamaSystem, HF_HUB_CACHE: join(alt, 'nohub'), LLAMA_CACHE: join(alt, 'nollama') }
      const c = await service(home, {}, env).svc.scan()
      expect(c.roots.find((r) => r.source === 'lmstudio')).toMatchObject({ path: join(alt, 'downloads'), models: 1 })
      expect(c.models.find((m) => m.source === 'lmstudio')?.name).toBe('moved-Q4_K_M')
      // OLLAMA_MODELS names the same folder as the system store: searched once.
      expect(c.roots.filter((r) => r.source === 'ollama')).toEqual([{ source: 'ollama', path: home.roots.ollamaSystem, exists: true, origin: '$OLLAMA_MODELS', models: 1 }])
      expect(c.roots.find((r) => r.source === 'huggingface')).toMatchObject({ origin: '$HF_HUB_CACHE', exists: false })
      expect(c.roots.filter((r) => r.source === 'llamacpp').map((r) => r.origin)).toEqual(['$LLAMA_CACHE', 'default (older llama.cpp)'])
      expect(c.models.filter((m) => m.source === 'llamacpp')).toHaveLength(1)
    } finally {
      await unlink(join(home.home, '.lmstudio-home-pointer'))
    }
  })
})

describe('catalog: ids and rescans', () => {
  it('keeps ids stable across scans and restarts, and does not re-parse unchanged headers, in this process or the next', async () => {
    const cacheHome = { XDG_CACHE_HOME: join(dir, 'cache-ids') }
    const a = service(home, {}, cacheHome).svc
    const first = await a.scan()
    const parses = a.headerParses
    expect(parses).toBeGreaterThan(10)
    const second = await a.scan()
    expect(a.headerParses).toBe(parses)
    // A new process (every CLI command is one) reads the headers parsed before from the cache file.
    const next = service(home, {}, cacheHome).svc
    const restarted = await next.scan()
    expect(next.headerParses).toBe(0)
    const ids = (c: Catalog) => c.models.map((m) => `${m.id}=${byKey(m)}`).sort()
    expect(ids(second)).toEqual(ids(first))
    expect(ids(restarted)).toEqual(ids(first))
    expect(restarted.models.map((m) => [m.gguf, m.safetensors])).toEqual(first.models.map((m) => [m.gguf, m.safetensors]))
    expect(restarted.skipped).toEqual(first.skipped)
    // …and parses again exactly the file that changed; a cache file that is no JSON costs only speed.
    const changed = first.models.find((m) => m.format === 'gguf')!.files[0].path
    const t = new Date(Date.now() + 5000)
    await utimes(changed, t, t)
    const third = service(home, {}, cacheHome).svc
    await third.scan()
    expect(third.headerParses).toBe(1)
    await writeFile(join(dir, 'cache-ids', 'hearth', 'headers.json'), '{ not json')
    const fourth = service(home, {}, cacheHome).svc
    expect(ids(await fourth.scan())).toEqual(ids(first))
    expect(fourth.headerParses).toBe(parses)
  })

  it('shares one scan between concurrent callers and publishes the result', async () => {
    const { svc, events } = service(home)
    const [x, y] = await Promise.all([svc.scan(), svc.scan()])
    expect(x).toBe(y)
    expect(events).toHaveLength(1)
    expect(svc.current()).toBe(x)
  })
})

describe('catalog: bad input', () => {
  it('lists each bad input as skipped with its reason and still finds the good models', async () => {
    const c = await service(badHome).svc.scan()
    for (const b of badHome.bad) {
      const hit = c.skipped.find((s) => s.path.startsWith(b.path) && b.reason.test(s.reason))
      expect(hit, `${b.path} should be skipped matching ${b.reason} — got ${JSON.stringify(c.skipped)}`).toBeDefined()
    }
    for (const want of badHome.models) expect(c.models.some((m) => byKey(m) === byKey(want)), byKey(want)).toBe(true)
    // The control file beside the bad ones is found; none of the bad ones is.
    expect(c.models.filter((m) => m.source === 'folder').map((m) => m.name).sort()).toEqual(['coder 7b.Q5_K_M', 'ok-control', 'Ünïcode Modèl Q4_0'])
    expect(c.skipped.find((s) => s.path.endsWith('not a model.gguf'))?.reason).toMatch(/^not a GGUF file \(bad magic\)/)
  })

  it('says so when a tree is too large to search whole', async () => {
    const c = await service(badHome, { maxEntries: 300 }).svc.scan()
    const folder = badHome.folders[1]
    expect(c.skipped).toContainEqual({ path: folder, reason: expect.stringMatching(/stopped after 300 entries/) })
  })

  it('skips a file that vanishes between listing and reading', async () => {
    const victim = join(badHome.folders[0], 'vanishing.gguf')
    await writeGguf(victim, llamaShape({ layers: 1, embd: 256, heads: 4, headsKv: 4, ff: 256, vocab: 256 }))
    const c = await service(badHome, {
      hooks: { afterList: async (d, names) => (names.includes('vanishing.gguf') && d === badHome.folders[0] ? unlink(victim) : undefined) },
    }).svc.scan()
    expect(c.skipped).toContainEqual({ path: victim, reason: 'vanished during the scan' })
    expect(c.models.some((m) => m.name === 'vanishing')).toBe(false)
  })
})

describe('catalog: resolve', () => {
  it('resolves ids, unique fragments, tags and paths; refuses ambiguous and unknown targets', async () => {
    const { svc } = service(home)
    const c = await svc.scan()
    const gemma = c.models.find((m) => m.name === 'gemma-3-4b-it-Q4_K_M')!
    expect(await svc.resolve([gemma.id])).toEqual(gemma.files.map((f) => ({ path: f.path, bytes: f.bytes, modelId: gemma.id })))
    expect((await svc.resolve(['GEMMA-3'])).map((f) => f.modelId)).toEqual([gemma.id, gemma.id])
    const llama = c.models.find((m) => m.tags?.includes('llama3.2:latest'))!
    expect((await svc.resolve(['llama3.2:latest']))[0].modelId).toBe(llama.id)

    // A snapshot link inside the catalog maps to its blob and model.
    const qwen = c.models.find((m) => m.name === 'Qwen/Qwen2.5-0.5B-Instruct')!
    const snap = join(home.roots.huggingface, 'models--Qwen--Qwen2.5-0.5B-Instruct', 'snapshots')
    const { readdirSync } = await import('node:fs')
    const link = join(snap, readdirSync(snap)[0], 'model-00001-of-00002.safetensors')
    const [viaLink] = await svc.resolve([link])
    expect(viaLink.modelId).toBe(qwen.id)
    expect(qwen.files.map((f) => f.path)).toContain(viaLink.path)

    const outside = join(dir, 'outside.bin')
    await writeFile(outside, Buffer.alloc(5000))
    expect(await svc.resolve([outside])).toEqual([{ path: outside, bytes: 5000 }])

    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as HearthError)
    const amb = await err(svc.resolve(['instruct']))
    expect(amb?.code).toBe('AMBIGUOUS')
    expect(amb?.message).toMatch(/"instruct" matches \d+ models: .*use the id/)
    const none = await err(svc.resolve(['no-such-model-xyz']))
    expect(none?.code).toBe('NOT_FOUND')
    expect(none?.message).toMatch(/no-such-model-xyz.*hearth models/)
    expect((await err(svc.resolve([join(dir, 'missing.gguf')])))?.code).toBe('NOT_FOUND')
    expect((await err(svc.resolve([dir])))?.code).toBe('BAD_INPUT')

    // What a path that is no model file is, said plainly: a folder (also as a bare name where the
    // command runs), a link loop; and a name with a newline stays on one line.
    const folder = await err(svc.resolve([dir]))
    expect(folder?.message).toMatch(/is a folder, not a model file; .*hearth models --add-folder/)
    const cwd = process.cwd()
    await mkdir(join(dir, 'a-folder.gguf'))
    process.chdir(dir)
    try {
      expect((await err(svc.resolve(['a-folder.gguf'])))?.message).toMatch(/^a-folder\.gguf is a folder, not a model file/)
    } finally {
      process.chdir(cwd)
    }
    await symlink('loop.gguf', join(dir, 'loop.gguf'))
    const loop = await err(svc.resolve([join(dir, 'loop.gguf')]))
    expect(loop?.code).toBe('BAD_INPUT')
    expect(loop?.message).toMatch(/loop\.gguf is a symbolic link loop/)
    const odd = await err(svc.resolve(['no\nsuch']))
    expect(odd?.message).toMatch(/^no model or file matches "no\\nsuch"/)
  })
})

/** Waits for cond (a generous deadline, not a timing goal); false if it never held. */
async function until(cond: () => boolean, deadlineMs = 15_000): Promise<boolean> {
  for (const end = Date.now() + deadlineMs; Date.now() < end; ) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return cond()
}

describe('catalog: watching', () => {
  it('rescans when a model appears in a watched folder', async () => {
    const { svc, events } = service(home, { debounceMs: 50 })
    await svc.scan()
    await svc.start()
    try {
      expect(svc.watchCount).toBeGreaterThan(5)
      expect(svc.watchCount).toBeLessThanOrEqual(64)
      const repo = join(home.roots.lmstudio, 'lmstudio-community', 'Qwen2.5-0.5B-Instruct-GGUF')
      const before = events.length
      await writeGguf(join(repo, 'Qwen2.5-0.5B-Instruct-Q4_0.gguf'), llamaShape({ layers: 1, embd: 256, heads: 4, headsKv: 4, ff: 256, vocab: 256, fileType: 'Q4_0' }))
      const found = await until(() => events.slice(before).some((c) => c.models.some((m) => m.name === 'Qwen2.5-0.5B-Instruct-Q4_0')))
      expect(found).toBe(true)
      await unlink(join(repo, 'Qwen2.5-0.5B-Instruct-Q4_0.gguf'))
    } finally {
      svc.stop()
    }
  })

  it('watches at most maxWatches folders and polls the rest', async () => {
    const { svc, events } = service(home, { maxWatches: 2, debounceMs: 20, pollMs: 100 })
    await svc.start()
    try {
      expect(svc.watchCount).toBe(2)
      const gpt = home.roots.gpt4all // past the first two watched roots: only polled
      const before = events.length
      await writeGguf(join(gpt, 'polled-Q4_0.gguf'), llamaShape({ layers: 1, embd: 256, heads: 4, headsKv: 4, ff: 256, vocab: 256, fileType: 'Q4_0' }))
      const found = await until(() => events.slice(before).some((c) => c.models.some((m) => m.name === 'polled-Q4_0')))
      expect(found).toBe(true)
      await unlink(join(gpt, 'polled-Q4_0.gguf'))
    } finally {
      svc.stop()
    }
  })
})

describe('catalog: symlinked folders', () => {
  it('lists a model reachable through an added folder and a source once', async () => {
    const extra = join(dir, 'links')
    await mkdir(extra, { recursive: true })
    await symlink(home.roots.lmstudio, join(extra, 'lm'))
    const { svc, folders } = service(home)
    folders.push(extra)
    const c = await svc.scan()
    expect(c.models.filter((m) => m.source === 'folder')).toHaveLength(2) // only "my models"
    expect(c.models.filter((m) => m.source === 'lmstudio')).toHaveLength(3)
  })
})

describe('catalog: unreadable folders', () => {
  // Root reads anything, so as root the scan runs in a child as `nobody`; that child must be
  // able to read this checkout (true for a normal clone, not for one under a 0700 home).
  const asRoot = process.getuid?.() === 0
  const nobody = 65534
  const repo = process.cwd()
  const childCanRead =
    !asRoot || spawnSync('sh', ['-c', `test -r "${repo}/node_modules/tsx/package.json" && test -r "${repo}/src/main/services/catalog/index.ts"`], { uid: nobody, gid: nobody }).status === 0

  it.skipIf(!childCanRead)('lists a folder it may not read as skipped and goes on', async () => {
    const base = await mkdtemp(join(tmpdir(), 'hearth-catalog-perm-'))
    try {
      await chmod(base, 0o755)
      const folder = join(base, 'models')
      await mkdir(join(folder, 'locked'), { recursive: true })
      const spec = llamaShape({ layers: 1, embd: 256, heads: 4, headsKv: 4, ff: 256, vocab: 256 })
      await writeGguf(join(folder, 'readable.gguf'), spec)
      await writeGguf(join(folder, 'locked', 'hidden.gguf'), spec)
      await chmod(join(folder, 'locked'), 0o000)
      const script = join(base, 'scan.mts')
      await writeFile(
        script,
        `import { createCatalogService } from ${JSON.stringify(join(repo, 'src/main/services/catalog/index.ts'))}
import { createHub } from ${JSON.stringify(join(repo, 'src/main/hub.ts'))}
const svc = createCatalogService({ env: { HOME: ${JSON.stringify(join(base, 'home'))} }, hub: createHub(), settings: { get: () => ({ folders: [${JSON.stringify(folder)}] }) } })
const c = await svc.scan()
process.stdout.write(JSON.stringify({ models: c.models.map((m) => m.name), skipped: c.skipped }))
`,
      )
      await chmod(script, 0o644)
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: repo, encoding: 'utf8', ...(asRoot ? { uid: nobody, gid: nobody } : {}) })
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout) as Catalog
      expect(out.models).toEqual(['readable'])
      expect(out.skipped).toEqual([{ path: join(folder, 'locked'), reason: expect.stringMatching(/permission denied/) }])
    } finally {
      await chmod(join(base, 'models', 'locked'), 0o755).catch(() => undefined)
      await rm(base, { recursive: true, force: true })
    }
  })
})
