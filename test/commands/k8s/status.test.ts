// `pdsctl k8s status` end to end with the real kubectl against the fake cluster, the
// health check through a port-forward to the test PDS. No kubectl survives any test.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../../bed/fakeKube.js'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { runCli } from '../../helpers/cli.js'
import { noKubectlLeft } from '../../helpers/processes.js'
import { startLyingServer } from '../../bed/lying.js'
import type { KubeStatus } from '../../../src/lib/k8s/status.js'

const KUBE = ['--kube-namespace', 'bluesky', '--kube-service', 'bluesky']
const IMAGE = 'ghcr.io/bluesky-social/pds:0.4.218'

describe('pdsctl k8s status', () => {
  let bed: TestBed
  const fakes: FakeKube[] = []
  const fake = async (o: Partial<FakeKubeOptions> = {}) => {
    const f = await startFakeKube({ backendPort: bed.port, image: IMAGE, ...o })
    fakes.push(f)
    return f
  }
  before(async () => {
    bed = await startTestBed({ version: '0.4.219' })
  })
  afterEach(async () => {
    for (const f of fakes) assert.deepEqual(await noKubectlLeft(f.cacheDir), [], 'no kubectl survives')
  })
  after(async () => {
    for (const f of fakes) await f.close()
    await bed.close()
  })

  test('healthy: Deployment, pod, PVC, Service, no warnings, health through the port-forward; exit 0', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'status', ...KUBE, '--json'], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as KubeStatus
    assert.deepEqual(Object.keys(s).sort(), ['deployment', 'events', 'health', 'healthSkipped', 'namespace', 'pods', 'problems', 'pvcs', 'service'])
    assert.equal(s.namespace, 'bluesky')
    assert.equal(s.deployment?.name, 'bluesky')
    assert.equal(s.deployment?.image, IMAGE)
    assert.equal(s.deployment?.container, 'pds')
    assert.deepEqual(s.deployment?.replicas, { desired: 1, ready: 1, updated: 1, available: 1 })
    assert.equal(s.deployment?.revision, '1')
    assert.equal(s.pods.length, 1)
    assert.deepEqual({ ...s.pods[0], createdAt: undefined }, { name: 'bluesky-0', phase: 'Running', ready: true, restarts: 0, image: IMAGE, state: 'running', reason: null, lastTermination: null, node: 'node-1', createdAt: undefined })
    assert.deepEqual(s.pvcs, [{ name: 'bluesky-data', phase: 'Bound', bound: true, capacity: '20Gi', requested: '20Gi', storageClass: 'longhorn', volume: 'pvc-0a1b2c3d' }])
    assert.deepEqual(s.service, { name: 'bluesky', type: 'ClusterIP', clusterIP: '10.0.0.10', ports: [{ name: 'http', port: 3000, targetPort: 3000, protocol: 'TCP' }], selector: 'app=bluesky' })
    assert.deepEqual(s.events, [])
    assert.equal(s.health?.ok, true)
    assert.equal(s.health?.status, 200)
    assert.equal(s.health?.version, '0.4.219')
    assert.equal(s.health?.pdsVersion, '0.4.219')
    assert.equal(s.deployment?.tag, '0.4.218')
    assert.equal(s.deployment?.pdsVersion, '0.4.218')
    assert.equal(s.health?.via, 'svc/bluesky')
    assert.equal(s.healthSkipped, null)
    assert.deepEqual(s.problems, [])
    // Everything came from one kubectl get of five kinds, plus the port-forward.
    assert.ok(f.requests.some((q) => q.path.startsWith('/apis/apps/v1/namespaces/bluesky/deployments?limit=500')))
    assert.ok(f.requests.some((q) => q.path.startsWith('/api/v1/namespaces/bluesky/persistentvolumeclaims?limit=500')))
    assert.ok(f.requests.some((q) => q.method === 'POST' && q.path.endsWith('/portforward')))
  })

  test('a 0.4.5026 Deployment: its tag and the PDS version it carries (0.5.26), and what the PDS reports (the tag), both shown', async () => {
    const liar = await startLyingServer({ upstream: bed.url })
    liar.answer('_health', () => ({ json: { version: '0.4.5026' } }))
    try {
      const f = await fake({ image: 'ghcr.io/bluesky-social/pds:0.4.5026', backendPort: liar.port })
      const res = await runCli(['k8s', 'status', ...KUBE, '--json'], { env: f.env })
      assert.equal(res.code, 0, res.stderr)
      const s = JSON.parse(res.stdout) as KubeStatus
      assert.deepEqual([s.deployment?.image, s.deployment?.tag, s.deployment?.pdsVersion], ['ghcr.io/bluesky-social/pds:0.4.5026', '0.4.5026', '0.5.26'])
      assert.deepEqual([s.health?.version, s.health?.pdsVersion], ['0.4.5026', '0.5.26'])
      const tsv = await runCli(['k8s', 'status', ...KUBE], { env: f.env })
      const rows = tsv.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
      assert.match(rows.find((r) => r[0] === 'deployment')?.[3] ?? '', /^image ghcr\.io\/bluesky-social\/pds:0\.4\.5026 \(tag 0\.4\.5026 = PDS 0\.5\.26\);/)
      assert.match(rows.find((r) => r[0] === 'health')?.[3] ?? '', /^version 0\.4\.5026 \(PDS 0\.5\.26\); \d+ ms$/)

      // The compose file's floating tag: the tag says nothing, the PDS says what it runs.
      const floating = await fake({ image: 'ghcr.io/bluesky-social/pds:0.4', backendPort: liar.port })
      const fl = await runCli(['k8s', 'status', ...KUBE], { env: floating.env })
      assert.equal(fl.code, 0, fl.stderr)
      assert.match(fl.stdout, /^deployment\tbluesky\t1\/1 available\timage ghcr\.io\/bluesky-social\/pds:0\.4 \(tag 0\.4: PDS version not in the tag\);/m)
    } finally {
      await liar.close()
    }
  })

  test('piped: tab-separated rows, one per object', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'status', ...KUBE], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    const rows = res.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
    assert.deepEqual(rows.map((r) => r.slice(0, 3)), [
      ['deployment', 'bluesky', '1/1 available'],
      ['pod', 'bluesky-0', 'Running'],
      ['pvc', 'bluesky-data', 'Bound'],
      ['service', 'bluesky', 'ClusterIP'],
      ['health', 'svc/bluesky', 'ok'],
    ])
    assert.ok(rows.every((r) => r.length === 4))
    assert.match(rows[0][3], /^image ghcr\.io\/bluesky-social\/pds:0\.4\.218 \(PDS 0\.4\.218\); ready 1, updated 1; revision 1$/)
    assert.match(rows[4][3], /^version 0\.4\.219; \d+ ms$/)
  })

  test('a crash-looping pod: exit 6, the reason, restarts and last exit shown, BackOff events, health skipped with a note', async () => {
    const f = await fake({ initialScenario: 'crash' })
    const res = await runCli(['k8s', 'status', ...KUBE, '--json'], { env: f.env })
    assert.equal(res.code, 6, res.stderr)
    const s = JSON.parse(res.stdout) as KubeStatus
    const pod = s.pods[0]
    assert.equal(pod.phase, 'Running')
    assert.equal(pod.ready, false)
    assert.equal(pod.state, 'waiting')
    assert.equal(pod.reason, 'CrashLoopBackOff')
    assert.equal(pod.restarts, 4)
    assert.deepEqual({ ...pod.lastTermination, finishedAt: undefined }, { reason: 'Error', exitCode: 1, finishedAt: undefined })
    assert.deepEqual(s.deployment?.replicas, { desired: 1, ready: 0, updated: 1, available: 0 })
    assert.deepEqual(s.events.map((e) => [e.type, e.reason, e.object]), [['Warning', 'BackOff', 'Pod/bluesky-0']])
    assert.match(s.events[0].message, /^Back-off restarting failed container pds in pod bluesky-0/)
    assert.equal(s.health, null)
    assert.match(s.healthSkipped ?? '', /no pod is Running and Ready/)
    assert.deepEqual(s.problems, ['Deployment bluesky: 0 of 1 replicas available', 'pod bluesky-0 is in CrashLoopBackOff (4 restarts; last exit: Error, code 1)'])
    assert.equal(f.requests.filter((q) => q.path.endsWith('/portforward')).length, 0, 'no forward to a crashing pod')
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('Error: '))
    assert.deepEqual(errors, ['Error: 2 problems: Deployment bluesky: 0 of 1 replicas available; pod bluesky-0 is in CrashLoopBackOff (4 restarts; last exit: Error, code 1)'])

    // The table says the same to a person reading it piped.
    const tsv = await runCli(['k8s', 'status', ...KUBE], { env: f.env })
    assert.equal(tsv.code, 6)
    assert.match(tsv.stdout, /^pod\tbluesky-0\tCrashLoopBackOff\t4 restarts; last exit Error \(code 1 at \S+\); image ghcr\.io\/bluesky-social\/pds:0\.4\.218$/m)
    assert.match(tsv.stdout, /^health\t-\tskipped\tno pod is Running and Ready/m)
    assert.match(tsv.stderr, /Health not checked: no pod is Running and Ready/)
  })

  test('mid-upgrade: the old pod serves, the new one crash-loops; both shown, health through the Service', async () => {
    const f = await fake({ scenario: 'crash', startDelayMs: 50 })
    const patch = await fetch(`${f.url}/apis/apps/v1/namespaces/bluesky/deployments/bluesky`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'pds', image: 'ghcr.io/bluesky-social/pds:0.4.220' }] } } } }),
    })
    assert.equal(patch.status, 200)
    await new Promise((r) => setTimeout(r, 200))
    const res = await runCli(['k8s', 'status', ...KUBE, '--json'], { env: f.env })
    assert.equal(res.code, 6, res.stderr)
    const s = JSON.parse(res.stdout) as KubeStatus
    assert.equal(s.deployment?.image, 'ghcr.io/bluesky-social/pds:0.4.220')
    assert.deepEqual(s.deployment?.replicas, { desired: 1, ready: 1, updated: 1, available: 1 })
    assert.deepEqual(s.pods.map((p) => [p.image, p.reason]).sort(), [[IMAGE, null], ['ghcr.io/bluesky-social/pds:0.4.220', 'CrashLoopBackOff']])
    assert.equal(s.health?.ok, true, 'the Service still reaches the old pod')
    assert.equal(s.problems.length, 1)
    assert.match(s.problems[0], /^pod bluesky-\w+-\w+ is in CrashLoopBackOff/)
  })

  test('PVC Pending: exit 6 naming it, with the provisioning event', async () => {
    const f = await fake({ pvcPhase: 'Pending' })
    const res = await runCli(['k8s', 'status', ...KUBE, '--json'], { env: f.env })
    assert.equal(res.code, 6, res.stderr)
    const s = JSON.parse(res.stdout) as KubeStatus
    assert.deepEqual(s.pvcs, [{ name: 'bluesky-data', phase: 'Pending', bound: false, capacity: null, requested: '20Gi', storageClass: 'longhorn', volume: null }])
    assert.deepEqual(s.problems, ['PVC bluesky-data is Pending, not Bound'])
    assert.deepEqual(s.events.map((e) => [e.reason, e.object]), [['ProvisioningFailed', 'PersistentVolumeClaim/bluesky-data']])
    assert.match(res.stderr, /^Error: a problem: PVC bluesky-data is Pending, not Bound$/m)
  })

  test('the Deployment found by the Service\'s selector when named otherwise; --kube-deployment naming a missing one fails with exit 6', async () => {
    const f = await fake({ deployment: 'pds-server' })
    const res = await runCli(['k8s', 'status', ...KUBE, '--json', '--no-health'], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as KubeStatus
    assert.equal(s.deployment?.name, 'pds-server')
    assert.equal(s.healthSkipped, '--no-health')
    assert.equal(f.requests.filter((q) => q.path.endsWith('/portforward')).length, 0)

    const missing = await runCli(['k8s', 'status', ...KUBE, '--kube-deployment', 'nope', '--json', '--no-health'], { env: f.env })
    assert.equal(missing.code, 6)
    assert.deepEqual(JSON.parse(missing.stdout).problems, ['no Deployment nope in namespace bluesky'])
  })

  test('kubectl failures are one line with exit 7; bad input is exit 2 before kubectl runs', async () => {
    const f = await fake()
    const ns = await runCli(['k8s', 'status', '--kube-namespace', 'otherns', '--kube-service', 'bluesky'], { env: f.env })
    assert.equal(ns.code, 7, ns.stderr)
    assert.deepEqual(ns.stderr.split('\n').filter((l) => l.startsWith('Error')), [
      'Error: reading the PDS objects (kubectl get deployments,pods,pvc,services,events) failed: Error from server (NotFound): Unable to list "/v1, Resource=events": namespaces "otherns" not found. Check --kube-namespace (`kubectl get namespaces`)',
    ])
    const missingKubectl = await runCli(['k8s', 'status', ...KUBE, '--kubectl', '/nonexistent/kubectl'], { env: f.env })
    assert.equal(missingKubectl.code, 7)
    assert.match(missingKubectl.stderr, /^Error: kubectl not found \(\/nonexistent\/kubectl\)\. Install kubectl, or pass --kubectl PATH/m)
    const n = f.requests.length
    const bad = await runCli(['k8s', 'status', ...KUBE, '--kube-deployment', 'Bad_Name'], { env: f.env })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^Error: --kube-deployment "Bad_Name" is not a Kubernetes name$/m)
    const none = await runCli(['k8s', 'status'], { env: f.env })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /needs the PDS's Kubernetes location\. Pass --kube-namespace NS --kube-service NAME/)
    assert.equal(f.requests.length, n)
  })
})
