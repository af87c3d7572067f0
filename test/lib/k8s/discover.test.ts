// Finding the PDS in a namespace (--kube, kubectl pds): the Service by the Deployment
// running the PDS image it selects, by the PDS's labels, by its name; where the Deployment
// reads PDS_ADMIN_PASSWORD from. findPds runs the real kubectl against the fake cluster.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { adminPasswordSource, findPds } from '../../../src/lib/k8s/discover.js'
import { KubeError } from '../../../src/lib/errors.js'
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../../bed/fakeKube.js'
import { noKubectlLeft } from '../../helpers/processes.js'

describe('where the Deployment reads the admin password from', () => {
  const dep = (container: Record<string, unknown>) => ({ metadata: { name: 'pds' }, spec: { template: { spec: { containers: [{ name: 'pds', image: 'ghcr.io/bluesky-social/pds:0.4.5026', ...container }] } } } })

  test('env valueFrom.secretKeyRef: that Secret and key', () => {
    const r = adminPasswordSource(dep({ env: [{ name: 'PDS_HOSTNAME', value: 'x' }, { name: 'PDS_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'pds-secrets', key: 'adminPassword' } } }] }))
    assert.deepEqual(r.secret, { name: 'pds-secrets', key: 'adminPassword' })
    assert.equal(r.why, 'Deployment pds reads PDS_ADMIN_PASSWORD from Secret pds-secrets, key adminPassword')
  })

  test('envFrom secretRef: the key is the variable\'s name without the prefix; the last source wins; env beats envFrom', () => {
    assert.deepEqual(adminPasswordSource(dep({ envFrom: [{ secretRef: { name: 'all' } }] })).secret, { name: 'all', key: 'PDS_ADMIN_PASSWORD' })
    assert.deepEqual(adminPasswordSource(dep({ envFrom: [{ prefix: 'PDS_', secretRef: { name: 'p' } }] })).secret, { name: 'p', key: 'ADMIN_PASSWORD' })
    assert.deepEqual(adminPasswordSource(dep({ envFrom: [{ secretRef: { name: 'first' } }, { configMapRef: { name: 'cm' } }, { secretRef: { name: 'last' } }] })).secret, { name: 'last', key: 'PDS_ADMIN_PASSWORD' })
    assert.deepEqual(adminPasswordSource(dep({ envFrom: [{ prefix: 'OTHER_', secretRef: { name: 'x' } }] })).secret, null)
    assert.deepEqual(
      adminPasswordSource(dep({ envFrom: [{ secretRef: { name: 'all' } }], env: [{ name: 'PDS_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'one', key: 'pw' } } }] })).secret,
      { name: 'one', key: 'pw' },
    )
  })

  test('a plain value, a ConfigMap, nothing: not taken, and said why', () => {
    assert.deepEqual(adminPasswordSource(dep({ env: [{ name: 'PDS_ADMIN_PASSWORD', value: 'hunter2' }] })), { secret: null, why: 'Deployment pds sets PDS_ADMIN_PASSWORD as a plain value, not from a Secret' })
    assert.equal(adminPasswordSource(dep({ env: [{ name: 'PDS_ADMIN_PASSWORD', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }] })).secret, null)
    assert.equal(adminPasswordSource(dep({})).why, 'Deployment pds does not read PDS_ADMIN_PASSWORD from a Secret')
    assert.equal(adminPasswordSource(undefined).why, 'no Deployment runs the PDS here')
  })
})

describe('finding the PDS\'s Service (real kubectl, fake cluster)', () => {
  const fakes: FakeKube[] = []
  const fake = async (o: Partial<FakeKubeOptions> = {}) => {
    const f = await startFakeKube({ backendPort: 9, ...o })
    fakes.push(f)
    return f
  }
  const find = (f: FakeKube, o: { namespace?: string; service?: string } = {}) => findPds({ env: { ...process.env, ...f.env }, ...o }, 20_000)
  after(async () => {
    for (const f of fakes) {
      assert.deepEqual(await noKubectlLeft(f.cacheDir), [])
      await f.close()
    }
  })

  test('the Service that selects the Deployment running ghcr.io/bluesky-social/pds, in the context\'s namespace; its Secret', async () => {
    const f = await fake({ image: 'ghcr.io/bluesky-social/pds:0.4.5026', containerEnv: [{ name: 'PDS_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'pds-secrets', key: 'adminPassword' } } }], extraServices: [{ name: 'web' }] })
    const found = await find(f)
    assert.deepEqual(found, {
      service: 'bluesky',
      port: 3000,
      deployment: 'bluesky',
      image: 'ghcr.io/bluesky-social/pds:0.4.5026',
      how: 'it selects the pods of Deployment bluesky, which runs ghcr.io/bluesky-social/pds:0.4.5026',
      adminSecret: { name: 'pds-secrets', key: 'adminPassword' },
      secretWhy: 'Deployment bluesky reads PDS_ADMIN_PASSWORD from Secret pds-secrets, key adminPassword',
    })
    assert.ok(f.requests.some((q) => q.path.startsWith('/api/v1/namespaces/bluesky/services')))
  })

  test('a mirrored image: found by the PDS\'s label; else by its name; several candidates or none: a KubeError naming them', async () => {
    const labelled = await fake({ image: 'registry.local:5000/mirror/pds-build:7', serviceLabels: { 'app.kubernetes.io/name': 'pds' } })
    const byLabel = await find(labelled, { namespace: 'bluesky' })
    assert.equal(byLabel.service, 'bluesky')
    assert.equal(byLabel.how, 'its label app.kubernetes.io/name=pds')

    const named = await fake({ image: 'registry.local/pds-build:7', service: 'pds' })
    const byName = await find(named)
    assert.deepEqual([byName.service, byName.how, byName.deployment], ['pds', 'its name, pds', 'pds'])

    const two = await fake({ image: 'ghcr.io/bluesky-social/pds:0.4.219', extraServices: [{ name: 'pds-admin', labels: { 'app.kubernetes.io/name': 'pds' } }] })
    await assert.rejects(find(two), (err: unknown) => err instanceof KubeError && err.line === 'several Services in namespace (the context\'s) look like the PDS (bluesky, pds-admin). Name one with --kube-service NAME')

    const none = await fake({ image: 'nginx:1', service: 'web' })
    await assert.rejects(find(none, { namespace: 'bluesky' }), (err: unknown) => err instanceof KubeError && /^no Service in namespace bluesky looks like the PDS \(none is labelled app\.kubernetes\.io\/name=pds, selects a Deployment running ghcr\.io\/bluesky-social\/pds, or is named pds, bluesky, bluesky-pds\)\. Name it with --kube-service NAME/.test(err.line))
    await assert.rejects(find(none, { namespace: 'elsewhere' }), (err: unknown) => err instanceof KubeError && /namespaces "elsewhere" not found/.test(err.line))
  })

  test('a Service named by the operator: only its Deployment and Secret are looked for', async () => {
    const f = await fake({ image: 'ghcr.io/bluesky-social/pds:0.4.219', containerEnvFrom: [{ secretRef: { name: 'pds-env' } }] })
    const found = await find(f, { service: 'bluesky' })
    assert.deepEqual([found.service, found.how, found.deployment, found.adminSecret], ['bluesky', 'named with --kube-service', 'bluesky', { name: 'pds-env', key: 'PDS_ADMIN_PASSWORD' }])
    await assert.rejects(find(f, { service: 'nope' }), (err: unknown) => err instanceof KubeError && err.message === 'no Service nope in namespace (the context\'s)')
  })
})
