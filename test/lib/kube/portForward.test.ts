// The port-forward helper with the real kubectl against the fake API server, forwarding to
// the real test PDS.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startFakeKube, type FakeKube } from '../../bed/fakeKube.js'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { noKubectlLeft } from '../../helpers/processes.js'
import { startPortForward } from '../../../src/lib/kube/portForward.js'
import { createKubeTarget } from '../../../src/lib/kube/kubeTarget.js'
import { readKubeSecret, parseSecretRef } from '../../../src/lib/kube/secret.js'
import { KubeError, UsageError } from '../../../src/lib/errors.js'

describe('kubectl port-forward helper', () => {
  let bed: TestBed
  const fakes: FakeKube[] = []
  const fake = async (opts: Parameters<typeof startFakeKube>[0]) => {
    const k = await startFakeKube(opts)
    fakes.push(k)
    return k
  }
  const env = (k: FakeKube) => ({ ...process.env, ...k.env })
  before(async () => {
    bed = await startTestBed()
  })
  afterEach(async () => {
    for (const k of fakes) assert.deepEqual(await noKubectlLeft(k.cacheDir), [], 'no kubectl survives')
  })
  after(async () => {
    for (const k of fakes) await k.close()
    await bed.close()
  })

  test('forwards to the PDS over plain http: many requests, in parallel, over one forward', async () => {
    const k = await fake({ backendPort: bed.port })
    const pf = await startPortForward({ namespace: 'bluesky', service: 'bluesky', env: env(k) })
    try {
      assert.match(pf.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const health = (await (await fetch(`${pf.url}/xrpc/_health`)).json()) as { version: string }
      assert.match(health.version, /^\d+\.\d+/)
      const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${pf.url}/xrpc/com.atproto.server.describeServer`).then((r) => r.status)))
      assert.deepEqual(statuses, Array(8).fill(200))
      assert.equal(pf.alive(), true)
      assert.equal(k.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/portforward')).length, 1, 'one forward')
    } finally {
      await pf.stop()
    }
    assert.equal(pf.alive(), false)
  })

  test('https with a bearer token: kubectl sends the kubeconfig user token', async () => {
    const k = await fake({ backendPort: bed.port, tls: true })
    const pf = await startPortForward({ namespace: 'bluesky', service: 'bluesky', env: env(k) })
    try {
      assert.equal((await fetch(`${pf.url}/xrpc/_health`)).status, 200)
    } finally {
      await pf.stop()
    }
    const upgrade = k.requests.find((r) => r.method === 'POST' && r.path.endsWith('/portforward'))
    assert.equal(upgrade?.authorization, 'Bearer test-token')
  })

  const failures: Array<[string, Parameters<typeof startFakeKube>[0] extends infer O ? Partial<O> : never, Record<string, unknown>, RegExp, RegExp]> = [
    ['pod Pending', { podPhase: 'Pending' }, {}, /pod is not running\. Current status=Pending/, /pod is not running yet/],
    ['no pods', { noPods: true }, { podRunningTimeout: '2s' }, /timed out waiting for the condition/, /No running pod matches/],
    ['service missing', {}, { service: 'nosvc' }, /services "nosvc" not found/, /--kube-service/],
    ['namespace missing', {}, { namespace: 'otherns' }, /namespaces "otherns" not found/, /--kube-namespace/],
    ['upgrade forbidden', { forbidUpgrade: true }, {}, /error upgrading connection: pods "bluesky-0" is forbidden/, /pods\/portforward permission/],
  ]
  for (const [name, fakeOpts, pfOpts, line, hint] of failures) {
    test(`${name}: one KubeError line quoting kubectl, with the fix`, async () => {
      const k = await fake({ backendPort: bed.port, ...fakeOpts })
      await assert.rejects(startPortForward({ namespace: 'bluesky', service: 'bluesky', env: env(k), ...pfOpts }), (err: unknown) => {
        assert.ok(err instanceof KubeError, String(err))
        assert.match(err.message, line)
        assert.match(err.hint ?? '', hint)
        assert.ok(!err.line.includes('\n'))
        return true
      })
    })
  }

  test('kubectl not installed', async () => {
    await assert.rejects(startPortForward({ service: 'bluesky', kubectl: '/nonexistent/kubectl' }), /kubectl not found \(\/nonexistent\/kubectl\)/)
    await assert.rejects(startPortForward({ service: 'a', pod: 'b' }), UsageError)
  })

  test('the backend failing mid-command: kubectl exits with "lost connection to pod"; recover() starts a new forward', async () => {
    const k = await fake({ backendPort: bed.port })
    const target = await createKubeTarget({ namespace: 'bluesky', service: 'bluesky', env: env(k) })
    try {
      const first = target.url
      assert.equal((await fetch(`${first}/xrpc/_health`)).status, 200)
      k.setForwardError('error forwarding port 3000 to pod bluesky-0, uid : failed to connect to localhost:3000')
      await fetch(`${first}/xrpc/_health`).then((r) => r.text()).catch(() => 'reset')
      k.setForwardError(null)
      assert.equal(await target.recover!(), true)
      assert.match(target.failure() ?? '', /^$|lost connection to pod/)
      assert.equal((await fetch(`${target.url}/xrpc/_health`)).status, 200)
    } finally {
      await target.dispose()
    }
  })

  test('secrets: read and decode; missing secret; missing key; bad names', async () => {
    const k = await fake({ backendPort: bed.port, secrets: { bluesky: { adminPassword: 'hunter2:with:colons', 'smtp.url': 'smtp://x' } } })
    assert.equal(await readKubeSecret({ name: 'bluesky', namespace: 'bluesky', env: env(k) }), 'hunter2:with:colons')
    assert.equal(await readKubeSecret({ name: 'bluesky', key: 'smtp.url', namespace: 'bluesky', env: env(k) }), 'smtp://x')
    await assert.rejects(readKubeSecret({ name: 'nope', namespace: 'bluesky', env: env(k) }), /cannot read Secret nope in namespace bluesky: Error from server \(NotFound\): secrets "nope" not found/)
    await assert.rejects(readKubeSecret({ name: 'bluesky', key: 'missing', namespace: 'bluesky', env: env(k) }), (err: unknown) => {
      assert.ok(err instanceof KubeError)
      assert.match(err.line, /has no key "missing"/)
      assert.ok(!err.line.includes('hunter2'))
      return true
    })
    assert.deepEqual(parseSecretRef('pds-secrets'), { name: 'pds-secrets', key: 'adminPassword' })
    assert.throws(() => parseSecretRef('Bad_Name'), UsageError)
  })
})
