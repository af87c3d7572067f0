// Reading a value from a Kubernetes Secret with the real kubectl against the fake API
// server: decoding, the errors (one line each, never holding a secret value) and the
// Secret reference syntax of --kube-secret.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startFakeKube, type FakeKube } from '../../bed/fakeKube.js'
import { kubectlsUsing, reapKubectls } from '../../helpers/processes.js'
import { parseSecretRef, readKubeSecret, readSecretArgs, type ReadSecretOptions } from '../../../src/lib/k8s/secret.js'
import { KubeError, UsageError } from '../../../src/lib/errors.js'

const PASSWORD = 'hunter2:with:colons ünïcode'
const SECRETS = {
  bluesky: { adminPassword: PASSWORD, 'smtp.url': 'smtps://user:smtp-pass@mail.example.com', fromFile: 'file-pass\n' },
}
const VALUES = ['hunter2', 'smtp-pass', 'file-pass']

describe('reading a Kubernetes Secret with kubectl', () => {
  let k: FakeKube
  let home: string
  const extra: FakeKube[] = []
  const env = (f: FakeKube) => ({ PATH: process.env.PATH, HOME: home, ...f.env })
  const read = (opts: Partial<ReadSecretOptions> & { debug?: string[] } = {}, f = k) =>
    readKubeSecret({ name: 'bluesky', namespace: 'bluesky', env: env(f), onDebug: (l) => opts.debug?.push(l), ...opts })

  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'secret-home-'))
    k = await startFakeKube({ backendPort: 1, secrets: SECRETS })
  })
  afterEach(async () => {
    const left: number[] = []
    for (const f of [k, ...extra]) left.push(...(await reapKubectls(f.cacheDir)))
    assert.deepEqual(left, [], 'no kubectl survives the test')
  })
  after(async () => {
    for (const f of [k, ...extra]) await f.close()
    rmSync(home, { recursive: true, force: true })
  })

  test('argv: the key escaped for jsonpath, and never a value', () => {
    assert.deepEqual(readSecretArgs({ name: 'bluesky', namespace: 'bluesky', context: 'prod' }), [
      'get', 'secret', 'bluesky', '--namespace', 'bluesky', '--context', 'prod', '-o', 'jsonpath={.data.adminPassword}',
    ])
    assert.deepEqual(readSecretArgs({ name: 'pds', key: 'smtp.url' }), ['get', 'secret', 'pds', '-o', 'jsonpath={.data.smtp\\.url}'])
  })

  test('reads and decodes: the default key, a key with a dot, a trailing newline from --from-file dropped', async () => {
    const debug: string[] = []
    assert.equal(await read({ debug }), PASSWORD)
    assert.equal(await read({ key: 'smtp.url', debug }), SECRETS.bluesky['smtp.url'])
    assert.equal(await read({ key: 'fromFile', debug }), 'file-pass')
    assert.ok(k.requests.some((r) => r.path === '/api/v1/namespaces/bluesky/secrets/bluesky'))
    assert.ok(debug.some((l) => l.includes('get secret bluesky')), 'the command is in --debug')
    for (const v of VALUES) assert.ok(!debug.join('\n').includes(v), 'no value in debug lines')
  })

  test('the namespace of the kubeconfig context when none is given', async () => {
    assert.equal(await read({ namespace: undefined }), PASSWORD)
  })

  test('https: kubectl sends the kubeconfig token', async () => {
    const tls = await startFakeKube({ backendPort: 1, tls: true, secrets: SECRETS })
    extra.push(tls)
    assert.equal(await read({}, tls), PASSWORD)
    const get = tls.requests.find((r) => r.path.startsWith('/api/v1/namespaces/bluesky/secrets/bluesky'))
    assert.equal(get?.authorization, 'Bearer test-token')
  })

  const failures: Array<{ name: string; opts: Partial<ReadSecretOptions>; message: RegExp; hint: RegExp }> = [
    { name: 'missing Secret', opts: { name: 'nope' }, message: /^cannot read Secret nope in namespace bluesky: Error from server \(NotFound\): secrets "nope" not found$/, hint: /^Check --kube-secret and --kube-namespace \(`kubectl get secrets -n bluesky`\)$/ },
    { name: 'missing key', opts: { key: 'other' }, message: /^Secret bluesky in namespace bluesky has no key "other"/, hint: /kubectl get secret bluesky -n bluesky -o jsonpath='\{\.data\}'/ },
    { name: 'missing namespace', opts: { namespace: 'otherns' }, message: /^cannot read Secret bluesky in namespace otherns: Error from server \(NotFound\): namespaces "otherns" not found$/, hint: /^Check --kube-namespace/ },
    { name: 'kubectl missing', opts: { kubectl: '/nonexistent/kubectl' }, message: /^kubectl not found \(\/nonexistent\/kubectl\)$/, hint: /--kubectl PATH/ },
  ]
  for (const c of failures) {
    test(`${c.name}: one KubeError line, no value in it`, async () => {
      const debug: string[] = []
      await assert.rejects(read({ ...c.opts, debug }), (err: unknown) => {
        assert.ok(err instanceof KubeError, String(err))
        assert.match(err.message, c.message)
        assert.match(err.hint ?? '', c.hint)
        assert.ok(!err.line.includes('\n'))
        for (const v of VALUES) assert.ok(!err.line.includes(v) && !debug.join('\n').includes(v), 'no secret value in the error or debug lines')
        return true
      })
    })
  }

  test('an API server that never answers: a timeout, and kubectl is killed', async () => {
    const silent = net.createServer(() => {})
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const dir = mkdtempSync(path.join(tmpdir(), 'silent-kube-'))
    try {
      const port = (silent.address() as net.AddressInfo).port
      const kubeconfig = path.join(dir, 'kubeconfig')
      writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`)
      const cacheDir = path.join(dir, 'cache')
      const started = Date.now()
      await assert.rejects(
        readKubeSecret({ name: 'bluesky', timeoutMs: 1000, env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir } }),
        /^KubeError: kubectl timed out after 1 s reading Secret bluesky$/,
      )
      assert.ok(Date.now() - started < 3000)
      assert.deepEqual(kubectlsUsing(cacheDir), [])
    } finally {
      silent.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('bad names and keys are refused before kubectl runs', async () => {
    const before = k.requests.length
    await assert.rejects(read({ name: 'Bad_Name' }), UsageError)
    await assert.rejects(read({ key: 'a/b' }), UsageError)
    await assert.rejects(read({ key: '..' }), UsageError)
    assert.equal(k.requests.length, before)
  })

  test('parseSecretRef: NAME[:KEY] with Kubernetes naming rules', () => {
    assert.deepEqual(parseSecretRef('pds-secrets'), { name: 'pds-secrets', key: 'adminPassword' })
    assert.deepEqual(parseSecretRef('pds.secrets:PDS_ADMIN_PASSWORD'), { name: 'pds.secrets', key: 'PDS_ADMIN_PASSWORD' })
    assert.deepEqual(parseSecretRef('a:smtp.url'), { name: 'a', key: 'smtp.url' })
    assert.deepEqual(parseSecretRef('pds', 'other'), { name: 'pds', key: 'other' })
    for (const bad of ['', ':key', 'Bad_Name', 'UPPER', '-pds', 'pds-', 'pds..x', '.pds', 'a:b:c', 'pds:', 'pds:a/b', 'a'.repeat(254)]) {
      assert.throws(() => parseSecretRef(bad), UsageError, `"${bad}" is refused`)
    }
    assert.equal(parseSecretRef('a'.repeat(253)).name.length, 253)
  })
})

