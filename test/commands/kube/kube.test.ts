// Reaching a PDS in Kubernetes end to end: pdsctl → the real kubectl → the fake API server
// → the test PDS. Every test checks that no kubectl process survives it.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { startFakeKube, type FakeKube } from '../../bed/fakeKube.js'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { BIN, CLI_NODE, cleanEnv, runCli } from '../../helpers/cli.js'
import { kubectlsUsing, noKubectlLeft } from '../../helpers/processes.js'
import { readFileSync } from 'node:fs'
import type { AccountSummary } from '../../../src/lib/admin/accounts.js'

const KUBE = ['--kube-namespace', 'bluesky', '--kube-service', 'bluesky']

describe('pdsctl through kubectl port-forward', () => {
  let bed: TestBed
  let seeded: SeededAccount[]
  let k: FakeKube
  const fakes: FakeKube[] = []
  before(async () => {
    bed = await startTestBed()
    seeded = await bed.seed(3, 'kube')
    k = await startFakeKube({ backendPort: bed.port, secrets: { bluesky: { adminPassword: bed.adminPassword } } })
    fakes.push(k)
  })
  afterEach(async () => {
    for (const f of fakes) assert.deepEqual(await noKubectlLeft(f.cacheDir), [], 'no kubectl survives')
  })
  after(async () => {
    for (const f of fakes) await f.close()
    await bed.close()
  })

  test('the flags before the command, the password from the Secret, nothing else configured', async () => {
    const res = await runCli([...KUBE, '--kube-secret', 'bluesky', 'account', 'list', '--json', '--debug'], { env: k.env })
    assert.equal(res.code, 0, res.stderr)
    const rows = JSON.parse(res.stdout) as AccountSummary[]
    assert.deepEqual(new Set(rows.map((r) => r.handle)), new Set(seeded.map((s) => s.handle)))
    assert.ok(rows.every((r) => r.email))
    assert.ok(!res.stderr.includes(bed.adminPassword), 'the password is not in debug output')
    assert.match(res.stderr, /\$ kubectl port-forward --address 127\.0\.0\.1 --namespace bluesky svc\/bluesky :3000/)
    assert.equal(k.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/portforward')).length >= 1, true)
  })

  test('no process carries the admin password in its argv while pdsctl reads it from the Secret and forwards', async () => {
    const child = spawn(CLI_NODE, [BIN, 'account', 'list', ...KUBE, '--kube-secret', 'bluesky', '--json'], { env: cleanEnv(k.env), stdio: ['ignore', 'pipe', 'pipe'] })
    const seen = new Set<string>()
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    let done = false
    void closed.then(() => (done = true))
    while (!done) {
      for (const pid of [child.pid!, ...kubectlsUsing(k.cacheDir)]) {
        try {
          seen.add(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '))
        } catch {
          // gone already
        }
      }
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.equal(await closed, 0)
    assert.ok([...seen].some((c) => c.includes('kubectl') && c.includes('port-forward')), 'saw the port-forward')
    assert.ok([...seen].some((c) => c.includes('kubectl') && c.includes('get secret')), 'saw the Secret read')
    for (const cmd of seen) assert.ok(!cmd.includes(bed.adminPassword), cmd)
  })

  test('doctor through the port-forward: the pod and the public URL report the same version; email judged from the Secret', async () => {
    const f = await startFakeKube({ backendPort: bed.port, secrets: { bluesky: { adminPassword: bed.adminPassword, smtpServer: 'smtps://u:p@smtp.example.com:465', smtpFromAddress: 'pds@example.com' } } })
    fakes.push(f)
    const res = await runCli(['doctor', ...KUBE, '--kube-secret', 'bluesky', '--public-url', bed.url, '--no-relays', '--json'], { env: f.env })
    assert.equal(res.code, 0, res.stdout + res.stderr)
    const report = JSON.parse(res.stdout) as { checks: Array<{ id: string; status: string; message: string }> }
    const by = Object.fromEntries(report.checks.map((c) => [c.id, c]))
    assert.equal(by['forward-health'].status, 'pass')
    assert.equal(by['same-version'].status, 'pass')
    assert.equal(by.email.status, 'pass')
    assert.match(by.email.message, /judged from Secret bluesky/)
  })

  test('a saved context: `context add` once, then `--context home account list`', async () => {
    const env = { ...k.env, XDG_CONFIG_HOME: cleanEnv().XDG_CONFIG_HOME }
    const add = await runCli(['context', 'add', 'home', ...KUBE, '--kube-secret', 'bluesky'], { env })
    assert.equal(add.code, 0, add.stderr)
    const res = await runCli(['--context', 'home', 'account', 'list', '--json'], { env })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(JSON.parse(res.stdout).length, 3)
  })

  test('https with a bearer token', async () => {
    const tls = await startFakeKube({ backendPort: bed.port, tls: true, secrets: { bluesky: { adminPassword: bed.adminPassword } } })
    fakes.push(tls)
    const res = await runCli(['account', 'list', ...KUBE, '--kube-secret', 'bluesky', '--json'], { env: tls.env })
    assert.equal(res.code, 0, res.stderr)
    assert.ok(tls.requests.length > 0 && tls.requests.every((r) => r.authorization === 'Bearer test-token'))
  })

  const cases: Array<[string, Parameters<typeof startFakeKube>[0] extends infer O ? Partial<O> : never, string[], RegExp]> = [
    ['pod Pending', { podPhase: 'Pending' }, [], /pod is not running\. Current status=Pending\. The pod is not running yet/],
    ['no pods', { noPods: true }, ['--kube-timeout', '2'], /timed out waiting for the condition\. No running pod matches the Service/],
    ['service missing', {}, ['--kube-service', 'nosvc'], /services "nosvc" not found\. Check --kube-service/],
    ['namespace missing', {}, ['--kube-namespace', 'otherns'], /namespaces "otherns" not found\. Check --kube-namespace/],
    ['upgrade forbidden', { forbidUpgrade: true }, [], /is forbidden: .*pods\/portforward permission/],
  ]
  for (const [name, fakeOpts, args, line] of cases) {
    test(`${name}: exit 7, one line, no stack trace`, async () => {
      const f = await startFakeKube({ backendPort: bed.port, ...fakeOpts })
      fakes.push(f)
      const kubeArgs = args.includes('--kube-service') || args.includes('--kube-namespace') ? [...args, ...(args.includes('--kube-service') ? ['--kube-namespace', 'bluesky'] : ['--kube-service', 'bluesky'])] : [...KUBE, ...args]
      const res = await runCli(['health', ...kubeArgs], { env: { ...f.env, PDS_ADMIN_PASSWORD: 'x' } })
      assert.equal(res.code, 7, res.stderr)
      const lines = res.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('Starting kubectl'))
      assert.equal(lines.length, 1, res.stderr)
      assert.match(lines[0], /^Error: kubectl port-forward to svc\/\S+ in namespace \S+ failed: /)
      assert.match(lines[0], line)
    })
  }

  test('kubectl not installed: exit 7 naming --kubectl', async () => {
    const res = await runCli(['health', ...KUBE, '--kubectl', '/nonexistent/kubectl'], { env: k.env })
    assert.equal(res.code, 7)
    assert.match(res.stderr, /kubectl not found \(\/nonexistent\/kubectl\)\. Install kubectl, or pass --kubectl PATH/)
  })

  test('the Secret missing or without the key: exit 7, one line', async () => {
    const res = await runCli(['account', 'list', ...KUBE, '--kube-secret', 'nope'], { env: k.env })
    assert.equal(res.code, 7)
    assert.match(res.stderr, /cannot read Secret nope in namespace bluesky: Error from server \(NotFound\): secrets "nope" not found/)
    const key = await runCli(['account', 'list', ...KUBE, '--kube-secret', 'bluesky:other'], { env: k.env })
    assert.equal(key.code, 7)
    assert.match(key.stderr, /Secret bluesky in namespace bluesky has no key "other"/)
  })

  test('the pod failing once mid-command: the forward is re-established and the read succeeds', async () => {
    const f = await startFakeKube({ backendPort: bed.port })
    fakes.push(f)
    f.setForwardError('error forwarding port 3000 to pod bluesky-0, uid : failed to connect to localhost:3000', { once: true })
    const res = await runCli(['account', 'list', ...KUBE, '--json', '--debug'], { env: { ...f.env, PDS_ADMIN_PASSWORD: bed.adminPassword } })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(JSON.parse(res.stdout).length, 3)
    assert.match(res.stderr, /port-forward dropped .*starting it again \(1\/2\)/)
  })

  test('the pod failing for good: exit 7 with kubectl\'s reason', async () => {
    const f = await startFakeKube({ backendPort: bed.port })
    fakes.push(f)
    f.setForwardError('error forwarding port 3000 to pod bluesky-0, uid : failed to connect to localhost:3000')
    const res = await runCli(['account', 'list', ...KUBE], { env: { ...f.env, PDS_ADMIN_PASSWORD: bed.adminPassword } })
    assert.equal(res.code, 7, res.stderr)
    assert.match(res.stderr, /^Error: the port-forward to svc\/bluesky in namespace bluesky \(kubectl port-forward\) dropped: error: lost connection to pod/m)
  })

  test('k8s forward holds the forward for other tools, prints export lines, and stops on Ctrl-C with exit 0', async () => {
    const child = spawn(CLI_NODE, [BIN, 'k8s', 'forward', ...KUBE, '--export'], { env: cleanEnv(k.env), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    const deadline = Date.now() + 15000
    while (!/^export PDS_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const url = /^export PDS_URL=(\S+)$/m.exec(out)?.[1]
    assert.ok(url, `no export line: ${out} ${err}`)
    const other = await runCli(['account', 'list', '--json'], { env: { PDS_URL: url, PDS_ADMIN_PASSWORD: bed.adminPassword } })
    assert.equal(other.code, 0, other.stderr)
    assert.equal(JSON.parse(other.stdout).length, 3)
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    child.kill('SIGINT')
    assert.equal(await exited, 0, err)
    assert.ok(!out.includes(bed.adminPassword))
  })

  test('50 runs, a third of them interrupted with SIGINT or SIGTERM: no kubectl remains', async () => {
    const env = cleanEnv({ ...k.env, PDS_ADMIN_PASSWORD: bed.adminPassword })
    const codes: Array<number | null> = []
    for (let i = 0; i < 50; i++) {
      const child = spawn(CLI_NODE, [BIN, 'account', 'list', ...KUBE, '--json'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
      const closed = new Promise<number | null>((r) => child.on('close', (code, sig) => r(code ?? (sig ? -1 : null))))
      if (i % 3 === 0) {
        // Interrupt while kubectl is starting or forwarding: after the first stderr line
        // ("Starting kubectl port-forward…") plus a varying delay.
        while (!err && child.exitCode === null) await new Promise((r) => setTimeout(r, 10))
        await new Promise((r) => setTimeout(r, (i * 37) % 400))
        child.kill(i % 2 ? 'SIGTERM' : 'SIGINT')
      }
      codes.push(await closed)
    }
    assert.deepEqual(await noKubectlLeft(k.cacheDir), [])
    const interrupted = codes.filter((_, i) => i % 3 === 0)
    // 0 (done before the signal), 130/143 (our handler stopped kubectl), or -1: killed by
    // the signal before pdsctl had set up anything (Node's default action).
    assert.ok(interrupted.every((c) => c === 0 || c === 130 || c === 143 || c === -1), `interrupted runs ended ${interrupted}`)
    assert.ok(codes.filter((_, i) => i % 3 !== 0).every((c) => c === 0), `uninterrupted runs ended ${codes}`)
  })
})
