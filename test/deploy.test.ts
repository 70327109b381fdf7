// deploy/: the Kubernetes manifests validated against the Kubernetes schemas (kubernetes-models),
// the container's command run here as the pod would run it, and the Grafana dashboard's queries
// checked against the metrics a real scrape exposes. Nothing here ran on a real cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { makeModelHome, type ModelHome } from './fixtures/model-home'
import { openSettings } from '../src/main/settings'

const root = new URL('..', import.meta.url).pathname
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: unknown }
const docs = parseAllDocuments(readFileSync(join(root, 'deploy/kubernetes/hearth.yaml'), 'utf8')).map((d) => {
  expect(d.errors).toEqual([])
  return d.toJS() as K8sObject
})
const find = (kind: string) => docs.find((d) => d.kind === kind)!
interface Container {
  args: string[]
  env: { name: string; value: string }[]
  ports: { name: string; containerPort: number }[]
  securityContext: Record<string, unknown>
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]
  resources: { limits?: Record<string, string> }
}
const daemonSet = find('DaemonSet') as K8sObject & {
  spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Container[]; volumes: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[]; securityContext: Record<string, unknown>; hostPID?: boolean; hostNetwork?: boolean; automountServiceAccountToken?: boolean } } }
}
const pod = daemonSet.spec.template.spec
const container = pod.containers[0]

/** The kubernetes-models class for an object, from its apiVersion and kind. */
async function modelClass(o: K8sObject): Promise<new (o: unknown) => { validate(): void }> {
  const group = o.apiVersion === 'v1' ? 'v1' : o.apiVersion
  const mod = (await import(`kubernetes-models/${group}/${o.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>
  return mod[o.kind] ?? (mod.default as never)
}

describe('deploy/kubernetes', () => {
  it('every object validates against the Kubernetes schema', async () => {
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'ConfigMap', 'DaemonSet'])
    for (const d of docs) {
      const Cls = await modelClass(d)
      expect(() => new Cls(d).validate(), `${d.kind} ${d.metadata.name}`).not.toThrow()
    }
    // and the validator refuses a broken one, so the check above means something
    const broken = structuredClone(daemonSet) as typeof daemonSet
    ;(broken.spec.template.spec.containers[0].ports[0] as unknown as { containerPort: string }).containerPort = 'nine'
    const Cls = await modelClass(broken)
    expect(() => new Cls(broken).validate()).toThrow()
  })

  it('no privileges beyond what warm and evict need', () => {
    expect(container.securityContext).toEqual({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    expect(pod.hostPID ?? false).toBe(false)
    expect(pod.hostNetwork ?? false).toBe(false)
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(pod.securityContext).toMatchObject({ seccompProfile: { type: 'RuntimeDefault' } })
    // the model folders come from the host, read-only; the only writable places are in-memory scratch
    const models = pod.volumes.find((v) => v.hostPath)!
    expect(container.volumeMounts.find((m) => m.name === models.name)).toMatchObject({ mountPath: '/models', readOnly: true })
    expect(pod.volumes.filter((v) => v.hostPath)).toHaveLength(1)
    expect(container.resources.limits?.memory).toBeUndefined() // cache pages are charged to the pod
  })

  it('pins and folders come from the ConfigMap, as settings Hearth itself reads', async () => {
    const cm = find('ConfigMap') as K8sObject & { data: Record<string, string> }
    const mount = container.volumeMounts.find((m) => m.name === pod.volumes.find((v) => v.configMap?.name === cm.metadata.name)!.name)!
    const xdg = container.env.find((e) => e.name === 'XDG_CONFIG_HOME')!.value
    expect(mount.mountPath).toBe(`${xdg}/hearth`)
    const dir = mkdtempSync(join(tmpdir(), 'hearth-deploy-settings-'))
    try {
      mkdirSync(join(dir, 'hearth'))
      writeFileSync(join(dir, 'hearth', 'settings.json'), cm.data['settings.json'])
      const s = await openSettings({ XDG_CONFIG_HOME: dir })
      expect(s.problem).toBeUndefined()
      expect(s.get()).toMatchObject({ folders: ['/models'], pins: [], keepWarmThreshold: 0.95 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('Prometheus scrape annotations point at the metrics port the daemon serves', () => {
    const a = daemonSet.spec.template.metadata.annotations
    const port = container.ports.find((p) => p.name === 'metrics')!.containerPort
    expect(a).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' })
    const args = container.args
    expect(args[0]).toBe('daemon')
    expect(args[args.indexOf('--port') + 1]).toBe(String(port))
    expect(args).toContain('--metrics')
    expect(args).toContain('--metrics-public') // Prometheus scrapes from another pod
    expect(args[args.indexOf('--host') + 1]).toBe('0.0.0.0')
    const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/opt\/hearth\/bin\/hearth\.js"\]$/m)
  })
})

const lanIp = Object.values(networkInterfaces())
  .flatMap((l) => l ?? [])
  .find((i) => i.family === 'IPv4' && !i.internal)?.address

describe("the pod's command, run here", () => {
  let dir: string
  let mh: ModelHome
  let child: ChildProcess
  let log = ''
  let port = 0

  beforeAll(async () => {
    mkdirSync(join(root, 'tmp'), { recursive: true })
    dir = mkdtempSync(join(root, 'tmp', 'hearth-deploy-'))
    mh = await makeModelHome(dir)
    // The manifest's arguments, with a free port instead of 9475 and temp dirs for the volumes.
    const args = container.args.map((a, i) => (container.args[i - 1] === '--port' ? '0' : a))
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' }
    for (const e of container.env) env[e.name] = e.value
    Object.assign(env, { XDG_CONFIG_HOME: join(mh.home, '.config'), XDG_RUNTIME_DIR: join(dir, 'run'), HOME: mh.home, HEARTH_OLLAMA_SYSTEM_DIR: mh.env.HEARTH_OLLAMA_SYSTEM_DIR })
    child = spawn(process.execPath, [join(root, 'bin/hearth.js'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', (d) => (log += d))
    child.stderr!.on('data', (d) => (log += d))
    const t0 = Date.now()
    while (!/metrics at http:\/\/0\.0\.0\.0:(\d+)\/metrics/.test(log)) {
      if (child.exitCode !== null || Date.now() - t0 > 45_000) throw new Error(`the daemon did not start:\n${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    port = Number(/metrics at http:\/\/0\.0\.0\.0:(\d+)\/metrics/.exec(log)![1])
  }, 120_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it('waits the configured delay before warming pins, and says so', () => {
    expect(log).toMatch(/kept warm from 30 s after start/)
  })

  it.skipIf(!lanIp)(`serves /metrics to a scraper on another address without a token${lanIp ? '' : ' (skipped: no non-loopback address here)'}`, async () => {
    const res = await fetch(`http://${lanIp}:${port}/metrics`)
    expect(res.status).toBe(200)
    expect(await res.text()).toMatch(/^hearth_models \d+$/m)
  })

  it("the Grafana dashboard's queries use only metrics the daemon exports", async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
    expect(exported.size).toBeGreaterThan(20)
    const dash = JSON.parse(readFileSync(join(root, 'deploy/grafana/hearth-dashboard.json'), 'utf8')) as {
      panels: { title: string; datasource: unknown; targets: { expr: string }[] }[]
      templating: { list: { query: { query: string } }[] }
    }
    const exprs = [...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dash.templating.list.map((v) => v.query.query)]
    expect(exprs.length).toBeGreaterThanOrEqual(dash.panels.length)
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bhearth_[a-z0-9_]+/g)].map((m) => m[0])))
    for (const name of used) expect(exported, `${name} is queried but not exported`).toContain(name)
    for (const p of dash.panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' })
      expect(p.targets.length, p.title).toBeGreaterThan(0)
    }
    // the main families are all on the board
    for (const name of ['hearth_model_resident_bytes', 'hearth_model_size_bytes', 'hearth_model_pinned', 'hearth_page_cache_bytes', 'hearth_gpu_memory_used_bytes', 'hearth_gpu_process_memory_bytes', 'hearth_warmed_bytes_total', 'hearth_jobs']) {
      expect(used, name).toContain(name)
    }
  })
})
