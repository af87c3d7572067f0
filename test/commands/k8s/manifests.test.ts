// The manifests rendered by the real `kubectl kustomize`, with a generated Secret beside
// them: every object there, every installer variable, every secret reference resolving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseAllDocuments, parse, stringify } from 'yaml'
import { runCli } from '../../helpers/cli.js'
import { installerEnv } from '../../../src/lib/k8s/manifests.js'

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> }
const kustomize = (dir: string): Obj[] => parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON())

test('renders with kubectl kustomize; Secret and manifests fit together', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'k8s-')), 'deploy')
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
  const dir = mkdtempSync(path.join(tmpdir(), 'k8s-'))
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
