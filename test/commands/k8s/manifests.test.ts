// The manifests rendered by the real `kubectl kustomize`, with a generated Secret beside
// them: every object there, every installer variable, every secret reference resolving.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseAllDocuments, parse, stringify } from 'yaml'
import { runCli } from '../../helpers/cli.js'
import { installerEnv } from '../../../src/lib/k8s/manifests.js'

const dirs: string[] = []
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> }
const kustomize = (dir: string): Obj[] => parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON())

test('renders with kubectl kustomize; Secret and manifests fit together', async () => {
  const dir = path.join(tempDir('k8s-'), 'deploy')
  const res = await runCli(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', dir, '--namespace', 'bluesky', '--storage-size', '50Gi', '--storage-class', 'longhorn', '--secret-name', 'bluesky-secrets', '--json'])
  assert.equal(res.code, 0, res.stderr)
  assert.equal(JSON.parse(res.stdout).files.length, 5)
  const secret = await runCli(['secrets', 'generate', '--format', 'k8s', '--name', 'bluesky-secrets', '--smtp-url', 'smtp://mail:25', '--from-address', 'a@example.com', '--output', path.join(dir, 'secret.yaml')])
  assert.equal(secret.code, 0, secret.stderr)
  // A copy of the kustomization that also applies the Secret (as an operator would after sealing).
  const k = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))
  k.resources.push('secret.yaml')
  writeFileSync(path.join(dir, 'kustomization.yaml'), stringify(k))

  const objs = kustomize(dir)
  assert.deepEqual(objs.map((o) => o.kind).sort(), ['Deployment', 'PersistentVolumeClaim', 'Secret', 'Service', 'ServiceAccount'])
  assert.ok(objs.every((o) => o.metadata.namespace === 'bluesky'))
  const dep = objs.find((o) => o.kind === 'Deployment')!
  assert.equal(dep.spec.replicas, 1)
  assert.equal(dep.spec.strategy.type, 'Recreate')
  const c = dep.spec.template.spec.containers[0]
  assert.match(c.image, /^ghcr\.io\/bluesky-social\/pds:\d+\.\d+\.\d+$/)
  assert.equal(c.livenessProbe.httpGet.path, '/xrpc/_health')
  assert.equal(c.readinessProbe.httpGet.path, '/xrpc/_health')
  assert.ok(c.resources.requests.memory && c.resources.limits.memory)
  assert.deepEqual(c.volumeMounts, [{ name: 'data', mountPath: '/pds' }])
  const env = new Map<string, any>(c.env.map((e: any) => [e.name, e]))
  for (const [name, value] of Object.entries(installerEnv('pds.example.com'))) assert.equal(env.get(name)?.value, value, name)
  const sec = objs.find((o) => o.kind === 'Secret')!
  for (const name of ['PDS_JWT_SECRET', 'PDS_ADMIN_PASSWORD', 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX', 'PDS_EMAIL_SMTP_URL', 'PDS_EMAIL_FROM_ADDRESS']) {
    const ref = env.get(name)?.valueFrom?.secretKeyRef
    assert.equal(ref?.name, 'bluesky-secrets', name)
    assert.ok(sec.data && ref.key in sec.data, `${name} → ${ref?.key} is in the Secret`)
  }
  const pvc = objs.find((o) => o.kind === 'PersistentVolumeClaim')!
  assert.equal(pvc.spec.resources.requests.storage, '50Gi')
  assert.equal(pvc.spec.storageClassName, 'longhorn')
  assert.equal(dep.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, pvc.metadata.name)
  const svc = objs.find((o) => o.kind === 'Service')!
  assert.equal(svc.spec.ports[0].port, 3000)
  assert.deepEqual(svc.spec.selector, dep.spec.template.metadata.labels)
})

test('never overwrites without --force; bad input rejected', async () => {
  const dir = tempDir('k8s-')
  assert.equal((await runCli(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', dir])).code, 0)
  const before = readFileSync(path.join(dir, 'deployment.yaml'), 'utf8')
  const again = await runCli(['k8s', 'manifests', '--hostname', 'other.example.com', '--dir', dir])
  assert.equal(again.code, 2)
  assert.match(again.stderr, /would overwrite .*Pass --force/)
  assert.equal(readFileSync(path.join(dir, 'deployment.yaml'), 'utf8'), before)
  assert.equal((await runCli(['k8s', 'manifests', '--hostname', 'other.example.com', '--dir', dir, '--force'])).code, 0)
  assert.match(readFileSync(path.join(dir, 'deployment.yaml'), 'utf8'), /other\.example\.com/)
  for (const args of [['--hostname', 'https://pds.example.com'], ['--hostname', 'pds.example.com', '--storage-size', '20GB'], ['--hostname', 'pds.example.com', '--namespace', 'Bad']]) {
    const res = await runCli(['k8s', 'manifests', '--dir', path.join(dir, 'x'), ...args])
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
  }
})

test('the "Next" steps work in their order: the Secret is made outside the folder and applied before it, the folder never holds it unsealed', async () => {
  const root = tempDir('k8s-')
  const dir = path.join(root, 'deploy')
  const home = path.join(root, 'home')
  const res = await runCli(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', dir, '--namespace', 'bluesky', '--secret-name', 'bluesky-secrets'])
  assert.equal(res.code, 0, res.stderr)
  const steps = res.stderr.split('\n').filter((l) => /^\s+\d\. /.test(l)).map((l) => l.trim().replace(/^\d\. /, '').split('   (')[0])
  assert.equal(steps.length, 4, res.stderr)
  // 1: generate the Secret where the hint says, as a user would (with $HOME expanded).
  const generate = steps[0].replaceAll('$HOME', home).split(' ')
  assert.equal(generate[0], 'pdsctl')
  const secretFile = generate[generate.indexOf('--output') + 1]
  assert.ok(!path.resolve(secretFile).startsWith(path.resolve(dir) + path.sep), `the unsealed Secret goes outside ${dir}: ${secretFile}`)
  const { mkdirSync } = await import('node:fs')
  mkdirSync(home)
  const gen = await runCli(generate.slice(1))
  assert.equal(gen.code, 0, gen.stderr)
  // Nothing unsealed in the folder people commit.
  assert.deepEqual(readdirSync(dir).filter((f) => /secret/i.test(f)), [])
  assert.doesNotMatch(readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n'), /kind: Secret/)
  // 2-4: the namespace, then the Secret, then the folder; what the Deployment reads is in that Secret.
  assert.equal(steps[1], 'kubectl create namespace bluesky')
  assert.equal(steps[2], `kubectl apply -f $HOME/bluesky-secrets.secret.yaml`)
  assert.equal(steps[3], `kubectl apply -k ${dir}`)
  const secret = parse(readFileSync(secretFile, 'utf8')) as Obj
  assert.equal(secret.kind, 'Secret')
  assert.equal(secret.metadata.name, 'bluesky-secrets')
  assert.equal(secret.metadata.namespace, 'bluesky')
  const dep = kustomize(dir).find((o) => o.kind === 'Deployment')!
  assert.equal(dep.metadata.namespace, 'bluesky')
  for (const e of dep.spec.template.spec.containers[0].env as Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>) {
    const ref = e.valueFrom?.secretKeyRef
    if (!ref) continue
    assert.equal(ref.name, 'bluesky-secrets', e.name)
    assert.ok(ref.optional || (secret.data && ref.key in secret.data), `${e.name} → ${ref.key} is in the Secret`)
  }
  assert.ok(existsSync(secretFile))
})
