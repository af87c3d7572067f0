// `kubectl pds`: the package's kubectl-pds executable found by the real kubectl's plugin
// discovery (a folder on PATH holding `kubectl-pds`, as `npm install -g` makes it), run by
// kubectl with kubectl's own flags, against the fake cluster whose pods forward to the
// test PDS (reporting 0.4.5026, as the official image of that tag does). The admin password
// is nowhere in the environment: it comes from the Secret the Deployment reads.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startFakeKube, type FakeKube } from '../bed/fakeKube.js'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { cleanEnv, ROOT, runCli, type CliResult } from '../helpers/cli.js'
import { noKubectlLeft } from '../helpers/processes.js'
import type { KubeStatus } from '../../src/lib/k8s/status.js'
import type { UpgradeResult } from '../../src/lib/k8s/upgrade.js'

const REPO = 'ghcr.io/bluesky-social/pds'
// kubectl comes from the Google Cloud SDK's apt repository on the development and CI machines.
const hasKubectl = ['/usr/bin/kubectl', '/bin/kubectl'].some((p) => existsSync(p))

describe('kubectl pds (through the real kubectl)', { skip: !hasKubectl && 'kubectl is not installed' }, () => {
  let bed: TestBed
  let f: FakeKube
  let dir: string
  let plugins: string
  before(async () => {
    bed = await startTestBed({ version: '0.4.5026' })
    await bed.seed(3, 'plug')
    f = await startFakeKube({
      backendPort: bed.port,
      image: `${REPO}:0.4.5026`,
      containerEnv: [{ name: 'PDS_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'pds-secrets', key: 'adminPassword' } } }],
      secrets: { 'pds-secrets': { adminPassword: bed.adminPassword } },
    })
    dir = mkdtempSync(path.join(tmpdir(), 'kubectl-pds-'))
    plugins = path.join(dir, 'bin')
    // What npm's "bin" entry makes: a link named kubectl-pds to the package's file.
    mkdirSync(plugins)
    symlinkSync(path.join(ROOT, 'bin/kubectl-pds.js'), path.join(plugins, 'kubectl-pds'))
  })
  afterEach(async () => {
    assert.deepEqual(await noKubectlLeft(f.cacheDir), [], 'no kubectl survives')
  })
  after(async () => {
    await f.close()
    await bed.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** kubectl ARGS with the plugin folder and Node on PATH, and nothing else of the developer's. */
  const kubectl = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const child = spawn('kubectl', args, {
        env: cleanEnv({ PATH: `${plugins}:${path.dirname(process.execPath)}:/usr/bin:/bin`, KUBECACHEDIR: f.cacheDir, NO_PROXY: '127.0.0.1,localhost', ...env }),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
      child.on('error', reject)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({ code, signal, stdout, stderr })
      })
    })

  test('kubectl plugin list finds kubectl-pds; kubectl pds --help speaks kubectl\'s language', async () => {
    const list = await kubectl(['plugin', 'list'])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /The following compatible plugins are available:/)
    assert.ok(list.stdout.split('\n').includes(path.join(plugins, 'kubectl-pds')), list.stdout)
    assert.doesNotMatch(list.stderr, /warning/i)

    const help = await kubectl(['pds', '--help'])
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /^Operate the Bluesky PDS in your cluster/)
    assert.match(help.stdout, /\nKubernetes Commands:\n {2}status /)
    assert.match(help.stdout, /\nUsage:\n {2}kubectl pds \[command\] \[options\]\n/)
    const alone = await kubectl(['pds'])
    assert.equal(alone.stdout, help.stdout, '`kubectl pds` alone shows the same')
    const status = await kubectl(['pds', 'status', '-h'])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /\nUsage:\n {2}kubectl pds status \[options\]\n/)
    assert.match(status.stdout, /\n {4}-n, --namespace='':\n/)
  })

  test('kubectl pds status -n NS --kubeconfig FILE: pdsctl\'s k8s status, the Service found, the tag and the PDS version', async () => {
    // No KUBECONFIG in the environment: kubectl's --kubeconfig flag says where the cluster is.
    const res = await kubectl(['pds', 'status', '-n', 'bluesky', '--kubeconfig', f.kubeconfigPath, '--json'])
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as KubeStatus
    assert.equal(s.namespace, 'bluesky')
    assert.deepEqual([s.deployment?.image, s.deployment?.tag, s.deployment?.pdsVersion], [`${REPO}:0.4.5026`, '0.4.5026', '0.5.26'])
    assert.deepEqual([s.health?.ok, s.health?.version, s.health?.pdsVersion, s.health?.via], [true, '0.4.5026', '0.5.26', 'svc/bluesky'])
    assert.match(res.stderr, /^Found the PDS: svc\/bluesky in bluesky \(it selects the pods of Deployment bluesky, which runs ghcr\.io\/bluesky-social\/pds:0\.4\.5026\)\.$/m)
    assert.ok(f.requests.some((q) => q.method === 'POST' && q.path.endsWith('/portforward')))
  })

  test('kubectl pds account list: the admin password from the Secret the Deployment reads, none in the environment', async () => {
    const before = f.requests.length
    const res = await kubectl(['pds', 'account', 'list', '--context', 'fake', '--json'], { KUBECONFIG: f.kubeconfigPath })
    assert.equal(res.code, 0, res.stderr)
    const accounts = JSON.parse(res.stdout) as Array<{ handle: string }>
    assert.equal(accounts.length, 3)
    assert.ok(accounts.every((a) => a.handle.startsWith('plug')), res.stdout)
    assert.ok(f.requests.slice(before).some((q) => q.path === '/api/v1/namespaces/bluesky/secrets/pds-secrets'), 'the Secret was read')
    assert.ok(!res.stderr.includes(bed.adminPassword))
  })

  test('kubectl pds upgrade: a downgrade refused (exit 2) and a dry run, messages naming kubectl pds', async () => {
    const down = await kubectl(['pds', 'upgrade', '-n', 'bluesky', '--image-tag', '0.4.219', '--yes'], { KUBECONFIG: f.kubeconfigPath })
    assert.equal(down.code, 2, down.stderr)
    assert.match(down.stderr, /^Error: refusing to downgrade bluesky from PDS 0\.5\.26 \(tag 0\.4\.5026\) to PDS 0\.4\.219: /m)
    const plan = await kubectl(['pds', 'upgrade', '-n', 'bluesky', '--image-tag', '0.4.5030', '--dry-run', '--json'], { KUBECONFIG: f.kubeconfigPath })
    assert.equal(plan.code, 0, plan.stderr)
    const r = JSON.parse(plan.stdout) as UpgradeResult
    assert.equal(r.direction, 'upgrade')
    assert.deepEqual(r.to, { image: `${REPO}:0.4.5030`, tag: '0.4.5030', version: '0.5.30', reported: null })
    assert.equal(f.requests.filter((q) => q.method === 'PATCH').length, 0)

    const missing = await kubectl(['pds', 'account', 'info'], { KUBECONFIG: f.kubeconfigPath })
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /Fix: kubectl pds account info ACCOUNT/)
    const typo = await kubectl(['pds', 'acount', 'list'])
    assert.equal(typo.code, 2)
    assert.equal(typo.stderr, 'Error: "acount list" is not a kubectl pds command. Did you mean: kubectl pds account list?\n')
    // The words it quotes are escaped as in pdsctl's own error lines (an ESC in a pasted word never reaches the terminal).
    const pasted = await kubectl(['pds', 'acc\x1b]0;owned\x07ount'])
    assert.equal(pasted.code, 2)
    assert.equal(pasted.stderr, 'Error: "acc\\x1b]0;owned\\x07ount" is not a kubectl pds command. Run kubectl pds --help for the list\n')
  })

  test('pdsctl --kube (what kubectl pds passes): the PDS found in the context\'s namespace', async () => {
    const res = await runCli(['account', 'list', '--kube', '--json'], { env: { ...f.env } })
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as unknown[]).length, 3)
    assert.match(res.stderr, /^Found the PDS: svc\/bluesky \(/m)
  })
})

describe('kubectl-pds start-up', () => {
  test('the run path loads no oclif and no help module: arguments mapped, then bin/run.js', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubectl-pds-lean-'))
    try {
      const preload = path.join(dir, 'record.mjs')
      const out = path.join(dir, 'loaded.txt')
      writeFileSync(
        preload,
        `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
const seen = new Set()
registerHooks({ load(url, ctx, next) { seen.add(url); return next(url, ctx) } })
process.on('exit', () => appendFileSync(${JSON.stringify(out)}, [...seen].join('\\n') + '\\n'))
`,
      )
      const res = await new Promise<CliResult>((resolve) => {
        const child = spawn(process.execPath, ['--import', preload, '--', path.join(ROOT, 'bin/kubectl-pds.js'), 'health', '--url', 'http://127.0.0.1:9'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
        child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
      })
      assert.equal(res.code, 6, res.stderr)
      assert.match(res.stderr, /^Error: the PDS at http:\/\/127\.0\.0\.1:9 is not healthy: cannot connect/m)
      const loaded = readFileSync(out, 'utf8').split('\n').filter(Boolean)
      assert.ok(loaded.some((u) => u.endsWith('/bin/run.js')), 'the same run path as pdsctl')
      assert.ok(loaded.some((u) => u.includes('/dist/run/health/main.js')))
      assert.deepEqual(loaded.filter((u) => /@oclif\/|kubectlPluginHelp|node:http2/.test(u)), [])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
