// The port-forward helper and the Kubernetes target, with the real kubectl against the fake
// API server, forwarding to a plain loopback HTTP server (and once to the real test PDS).
// Every test checks that none of the kubectl processes it started is left.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { patternBytes, startFakeKube, startLoopbackBackend, type FakeKube, type FakeKubeOptions, type LoopbackBackend } from '../../bed/fakeKube.js'
import { startTestBed } from '../../bed/pds.js'
import { ROOT } from '../../helpers/cli.js'
import { kubectlsUsing, noKubectlLeft, reapKubectls } from '../../helpers/processes.js'
import { portForwardArgs, startPortForward, stopAllPortForwards, type PortForward, type PortForwardOptions } from '../../../src/lib/k8s/portForward.js'
import { createKubeTarget, forwardFailureError } from '../../../src/lib/k8s/kubeTarget.js'
import { KubeError, UsageError } from '../../../src/lib/errors.js'

const FORWARD_ERROR = 'error forwarding port 3000 to pod bluesky-0, uid : failed to connect to localhost:3000: connection refused'

describe('kubectl port-forward helper', () => {
  let backend: LoopbackBackend
  let home: string
  const fakes: FakeKube[] = []
  const fake = async (opts: Partial<FakeKubeOptions> = {}) => {
    const k = await startFakeKube({ backendPort: backend.port, ...opts })
    fakes.push(k)
    return k
  }
  // Only what kubectl needs, passed explicitly: the helper must not rely on process.env.
  const env = (k: FakeKube) => ({ PATH: process.env.PATH, HOME: home, ...k.env })
  const forward = (k: FakeKube, opts: Partial<PortForwardOptions> = {}) => startPortForward({ namespace: 'bluesky', service: 'bluesky', env: env(k), ...opts })

  before(async () => {
    backend = await startLoopbackBackend()
    home = mkdtempSync(path.join(tmpdir(), 'pf-home-'))
  })
  afterEach(async () => {
    const left: number[] = []
    for (const k of fakes.splice(0)) {
      left.push(...(await reapKubectls(k.cacheDir)))
      await k.close()
    }
    assert.deepEqual(left, [], 'no kubectl survives the test')
  })
  after(async () => {
    await backend.close()
    rmSync(home, { recursive: true, force: true })
  })

  test('argv: 127.0.0.1, an OS-picked port, nothing else', () => {
    assert.deepEqual(portForwardArgs({ namespace: 'bluesky', service: 'bluesky' }), ['port-forward', '--address', '127.0.0.1', '--namespace', 'bluesky', 'svc/bluesky', ':3000'])
    assert.deepEqual(portForwardArgs({ pod: 'pds-0', port: 2583, context: 'prod', podRunningTimeout: '5s' }), [
      'port-forward', '--address', '127.0.0.1', '--context', 'prod', '--pod-running-timeout=5s', 'pod/pds-0', ':2583',
    ])
  })

  test('http: keep-alive and parallel connections over one forward, large bodies both ways, exit 0 on stop', async () => {
    const k = await fake()
    const pf = await forward(k)
    try {
      assert.match(pf.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.equal(pf.url, `http://127.0.0.1:${pf.localPort}`)
      assert.equal(pf.description, 'svc/bluesky in namespace bluesky')

      // Keep-alive: five requests, one local connection, so one backend connection.
      const before = backend.connections
      const one = new http.Agent({ keepAlive: true, maxSockets: 1 })
      for (let i = 0; i < 5; i++) {
        const res = await request(`${pf.url}/hello`, { agent: one })
        assert.equal(res.status, 200)
        assert.deepEqual(JSON.parse(res.body.toString()), { hello: 'from the backend', path: '/hello' })
      }
      one.destroy()
      assert.equal(backend.connections - before, 1, 'one connection carried all five requests')

      // Parallel: the backend answers only once all six are open together.
      const six = new http.Agent({ keepAlive: false, maxSockets: 6 })
      const together = await Promise.all(Array.from({ length: 6 }, () => request(`${pf.url}/barrier?n=6`, { agent: six })))
      assert.deepEqual(together.map((r) => JSON.parse(r.body.toString()).together), Array(6).fill(6))

      const big = patternBytes(1_500_000)
      const echoed = await request(`${pf.url}/echo`, { method: 'POST', body: big })
      assert.ok(echoed.body.equals(big), 'a 1.5 MB body comes back intact')
      const down = await request(`${pf.url}/bytes?n=3000000`)
      assert.ok(down.body.equals(patternBytes(3_000_000)), '3 MB from the backend arrive intact')

      assert.equal(k.forwardSessions, 1, 'everything went over one SPDY session')
      assert.ok(k.requests.every((r) => r.authorization === undefined), 'kubectl sends no token over http')
      assert.equal(pf.alive(), true)
      assert.equal(pf.failure(), undefined)
    } finally {
      await pf.stop()
    }
    assert.equal(pf.alive(), false)
    assert.equal((await pf.exited).code, 0, 'kubectl exits 0 on SIGINT')
    await pf.stop() // a second stop is harmless
  })

  test('the real PDS: GET /xrpc/_health through the forward', async () => {
    const bed = await startTestBed({ email: false, version: '0.4.999' })
    try {
      const k = await fake({ backendPort: bed.port })
      const pf = await forward(k)
      try {
        const res = await fetch(`${pf.url}/xrpc/_health`)
        assert.equal(res.status, 200)
        assert.deepEqual(await res.json(), { version: '0.4.999' })
      } finally {
        await pf.stop()
      }
    } finally {
      await bed.close()
    }
  })

  test('https: kubectl sends the kubeconfig token on every request, the upgrade included', async () => {
    const k = await fake({ tls: true })
    const pf = await forward(k)
    try {
      assert.equal((await request(`${pf.url}/hello`)).status, 200)
    } finally {
      await pf.stop()
    }
    assert.ok(k.requests.some((r) => r.method === 'POST' && r.upgrade === 'SPDY/3.1'), 'the SPDY upgrade was made')
    assert.deepEqual(new Set(k.requests.map((r) => r.authorization)), new Set(['Bearer test-token']))
  })

  test('a Pod by name, and a Pod that does not exist', async () => {
    const k = await fake()
    const pf = await forward(k, { service: undefined, pod: 'bluesky-0' })
    try {
      assert.equal((await request(`${pf.url}/hello`)).status, 200)
      assert.equal(pf.description, 'pod/bluesky-0 in namespace bluesky')
    } finally {
      await pf.stop()
    }
    await assert.rejects(forward(k, { service: undefined, pod: 'nopod' }), (err: unknown) => {
      assertOneLine(err, /^kubectl port-forward to pod\/nopod in namespace bluesky failed: Error from server \(NotFound\): pods "nopod" not found$/, /^Check --kube-pod \(`kubectl get pods -n bluesky`\)$/)
      return true
    })
  })

  const failures: Array<{ name: string; fake?: Partial<FakeKubeOptions>; pf?: Partial<PortForwardOptions>; line: RegExp; hint: RegExp; upgraded: boolean }> = [
    { name: 'pod Pending', fake: { podPhase: 'Pending' }, line: /failed: error: unable to forward port because pod is not running\. Current status=Pending$/, hint: /^The pod is not running yet; check `kubectl get pods -n bluesky`$/, upgraded: false },
    { name: 'no pods (kubectl waits --pod-running-timeout)', fake: { noPods: true }, pf: { podRunningTimeout: '2s' }, line: /failed: error: timed out waiting for the condition$/, hint: /^No running pod matches the Service; check `kubectl get pods -n bluesky`/, upgraded: false },
    { name: 'service missing', pf: { service: 'nosvc' }, line: /to svc\/nosvc in namespace bluesky failed: Error from server \(NotFound\): services "nosvc" not found$/, hint: /^Check --kube-service \(`kubectl get svc -n bluesky`\)$/, upgraded: false },
    { name: 'namespace missing', pf: { namespace: 'otherns' }, line: /in namespace otherns failed: Error from server \(NotFound\): namespaces "otherns" not found$/, hint: /^Check --kube-namespace/, upgraded: false },
    { name: 'port-forward forbidden', fake: { forbidUpgrade: true }, line: /failed: error: error upgrading connection: pods "bluesky-0" is forbidden: User "test" cannot create resource "pods\/portforward"/, hint: /pods\/portforward permission/, upgraded: true },
  ]
  for (const c of failures) {
    test(`${c.name}: one KubeError line quoting kubectl, with the fix; kubectl already gone`, async () => {
      const k = await fake(c.fake)
      const started = Date.now()
      await assert.rejects(forward(k, c.pf), (err: unknown) => {
        assertOneLine(err, c.line, c.hint)
        return true
      })
      assert.deepEqual(kubectlsUsing(k.cacheDir), [], 'kubectl has exited by the time the error is thrown')
      assert.equal(k.requests.some((r) => r.upgrade === 'SPDY/3.1'), c.upgraded)
      if (c.pf?.podRunningTimeout) assert.ok(Date.now() - started >= 1900, 'kubectl waited for the pod')
    })
  }

  test('no Forwarding line within readyTimeoutMs: a KubeError, and kubectl is stopped first', async () => {
    const k = await fake({ noPods: true })
    const started = Date.now()
    await assert.rejects(forward(k, { readyTimeoutMs: 1500, podRunningTimeout: '60s' }), (err: unknown) => {
      assertOneLine(err, /^kubectl port-forward to svc\/bluesky in namespace bluesky did not start within 1\.5 s$/, /kubectl get pods -n bluesky/)
      return true
    })
    assert.ok(Date.now() - started < 5000)
    assert.deepEqual(kubectlsUsing(k.cacheDir), [])
  })

  test('kubectl missing, and bad options', async () => {
    await assert.rejects(startPortForward({ service: 'bluesky', kubectl: '/nonexistent/kubectl' }), (err: unknown) => {
      assertOneLine(err, /^kubectl not found \(\/nonexistent\/kubectl\)$/, /pass --kubectl PATH/)
      return true
    })
    await assert.rejects(startPortForward({ service: 'bluesky', env: { PATH: '/nonexistent' } }), (err: unknown) => {
      assertOneLine(err, /^kubectl not found on PATH$/, /^Install kubectl, or pass --kubectl PATH/)
      return true
    })
    await assert.rejects(startPortForward({ service: 'a', pod: 'b' }), UsageError)
    await assert.rejects(startPortForward({}), UsageError)
    await assert.rejects(startPortForward({ service: 'a', port: 70000 }), UsageError)
    await stopAllPortForwards() // nothing was started, so nothing to wait for
  })

  test('the backend failing mid-command: kubectl exits 1 "lost connection to pod"; recover() re-establishes the forward', async () => {
    const k = await fake()
    const target = await createKubeTarget({ namespace: 'bluesky', service: 'bluesky', env: env(k) })
    try {
      assert.equal(target.description, 'svc/bluesky in namespace bluesky (kubectl port-forward)')
      assert.equal((await request(`${target.url}/hello`)).status, 200)
      assert.equal(await target.recover(), false, 'nothing to recover while kubectl runs')
      assert.equal(forwardFailureError(target), undefined)

      k.setForwardError(FORWARD_ERROR)
      await assert.rejects(request(`${target.url}/hello`), 'the request through the failing pod fails')
      assert.match((await target.whyDropped()) ?? '', /^error: lost connection to pod$/)
      assert.equal(target.alive(), false)
      const err = forwardFailureError(target)
      assert.ok(err instanceof KubeError)
      assert.equal(err.message, 'the port-forward to svc/bluesky in namespace bluesky (kubectl port-forward) dropped: error: lost connection to pod')

      k.setForwardError(null)
      assert.equal(await target.recover(), true)
      assert.equal(target.alive(), true)
      assert.equal(target.restarts, 1)
      assert.equal((await request(`${target.url}/hello`)).status, 200)
      assert.equal(k.forwardSessions, 2)
    } finally {
      await target.dispose()
    }
    assert.equal(target.alive(), false)
    await target.dispose()
  })

  test('the exited promise reports kubectl\'s own lines when the forward drops', async () => {
    const k = await fake()
    const pf = await forward(k)
    k.setForwardError(FORWARD_ERROR, { once: true })
    await request(`${pf.url}/hello`).catch(() => undefined)
    const exit = await pf.exited
    assert.equal(exit.code, 1)
    assert.match(exit.stderr, /an error occurred forwarding \d+ -> 3000: error forwarding port 3000 to pod bluesky-0/)
    assert.match(exit.stderr, /error: lost connection to pod/)
    assert.equal(pf.failure(), 'error: lost connection to pod')
  })

  test('the pod restarting (sessions dropped): at most two restarts per target, concurrent recover() calls share one', async () => {
    const k = await fake()
    const target = await createKubeTarget({ namespace: 'bluesky', service: 'bluesky', env: env(k) })
    try {
      k.dropConnections()
      const [a, b] = await Promise.all([target.recover(), target.recover()])
      assert.deepEqual([a, b], [true, true])
      assert.equal(k.forwardSessions, 2, 'one new forward for both callers')
      assert.equal(kubectlsUsing(k.cacheDir).length, 1, 'no second kubectl')
      assert.equal((await request(`${target.url}/hello`)).status, 200)

      k.dropConnections()
      assert.equal(await target.recover(), true)
      k.dropConnections()
      assert.equal(await target.recover(), false, 'no third restart')
      assert.equal(target.restarts, 2)
      assert.equal(await target.whyDropped(), 'error: lost connection to pod')
    } finally {
      await target.dispose()
    }
  })

  test('a restart that fails is part of the reason given', async () => {
    const k = await fake()
    const target = await createKubeTarget({ namespace: 'bluesky', service: 'bluesky', env: env(k) })
    try {
      k.setPodPhase('Pending')
      k.dropConnections()
      assert.equal(await target.recover(), false)
      assert.equal(await target.whyDropped(), 'error: lost connection to pod; starting it again failed: kubectl port-forward to svc/bluesky in namespace bluesky failed: error: unable to forward port because pod is not running. Current status=Pending')
    } finally {
      await target.dispose()
    }
  })

  test('stop(): SIGKILL after 2 s when kubectl ignores SIGINT', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stubborn-'))
    try {
      // Stands in for a kubectl that hangs on exit; prints the line, then ignores SIGINT.
      const stub = path.join(dir, 'kubectl')
      writeFileSync(stub, `#!${process.execPath}\nprocess.on('SIGINT', () => {})\nconsole.log('Forwarding from 127.0.0.1:1 -> 3000')\nsetInterval(() => {}, 1000)\n`)
      chmodSync(stub, 0o755)
      const pf = await startPortForward({ service: 'bluesky', kubectl: stub, env: {} })
      assert.equal(pf.localPort, 1)
      const started = Date.now()
      await pf.stop()
      const took = Date.now() - started
      assert.ok(took >= 1900 && took < 4000, `stop took ${took} ms`)
      assert.deepEqual(await pf.exited, { code: null, signal: 'SIGKILL', stderr: '' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('stopAllPortForwards() stops every live forward', async () => {
    const k = await fake()
    const pfs: PortForward[] = await Promise.all([forward(k), forward(k)])
    assert.equal(kubectlsUsing(k.cacheDir).length, 2)
    await stopAllPortForwards()
    assert.deepEqual(pfs.map((p) => p.alive()), [false, false])
    assert.deepEqual(kubectlsUsing(k.cacheDir), [])
  })

  test('a process that exits without stopping its forward takes kubectl with it (exit hook)', async () => {
    const k = await fake()
    const mod = path.join(ROOT, 'src/lib/k8s/portForward.ts')
    // The child starts a forward, says where, and exits 1 s later without stop().
    const code = `import { startPortForward } from ${JSON.stringify(mod)}
const pf = await startPortForward({ namespace: 'bluesky', service: 'bluesky' })
console.log('ready ' + pf.localPort)
setTimeout(() => process.exit(0), 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, env: env(k), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d) => {
        out += d
        if (/^ready \d+$/m.test(out)) resolve()
      })
      child.once('close', () => reject(new Error(`the child ended before forwarding: ${out} ${err}`)))
    })
    const closed = new Promise<number | null>((r) => child.once('close', (c) => r(c)))
    await ready
    assert.equal(kubectlsUsing(k.cacheDir).length, 1, 'the child\'s kubectl runs')
    assert.equal(await closed, 0, err)
    assert.deepEqual(await noKubectlLeft(k.cacheDir, 1000), [], 'and is gone once the child has exited')
  })
})

function assertOneLine(err: unknown, message: RegExp, hint: RegExp): void {
  assert.ok(err instanceof KubeError, `not a KubeError: ${String(err)}`)
  assert.match(err.message, message)
  assert.match(err.hint ?? '', hint)
  assert.ok(!err.line.includes('\n'), `one line: ${err.line}`)
  assert.doesNotMatch(err.line, /\s+at \S+ \(|node:internal/, 'no stack trace')
}

function request(url: string, opts: { agent?: http.Agent; method?: string; body?: Buffer } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', agent: opts.agent ?? false, headers: opts.body ? { 'content-length': opts.body.length } : {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`timed out: ${url}`)))
    req.on('error', reject)
    req.end(opts.body)
  })
}

