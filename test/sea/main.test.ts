// The single executable (`npm run build:binary`: scripts/build-binary.mjs, src/sea/main.ts),
// run as an operator without Node would run it: from a directory of its own, with a PATH
// that holds kubectl and no node, against the real test PDS and the fake cluster. And the
// same answers as bin/run.js run by the same Node release (the one inside the file) for
// help, topics, `help`, completion, versions, unknown commands, leading flags and usage
// errors: the executable routes these itself (no files to import), so this keeps it in step.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startFakeKube, type FakeKube } from '../bed/fakeKube.js'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { BIN, ROOT, endStdin } from '../helpers/cli.js'
import { noKubectlLeft } from '../helpers/processes.js'
import { SEA_NODE_VERSION } from '../../scripts/build-binary.mjs'

const BINARY = path.join(ROOT, 'dist', 'binary', `pdsctl-linux-${process.arch}`)
const KUBE = ['--kube-namespace', 'bluesky', '--kube-service', 'bluesky']

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

describe('the single executable (npm run build:binary)', () => {
  let dir: string
  let pathDir: string
  let bed: TestBed
  let kube: FakeKube
  before(async () => {
    assert.ok(existsSync(BINARY), `${BINARY} is missing: run npm run build:binary (npm test does)`)
    dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-sea-'))
    // kubectl and nothing else: no node, no npm.
    pathDir = path.join(dir, 'bin')
    mkdirSync(pathDir)
    const kubectl = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim()
    symlinkSync(kubectl, path.join(pathDir, 'kubectl'))
    bed = await startTestBed({ version: '0.4.219' })
    kube = await startFakeKube({ backendPort: bed.port, image: 'ghcr.io/bluesky-social/pds:0.4.219' })
  })
  after(async () => {
    await kube?.close()
    await bed?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Run a command with a clean environment; `cmd` is the executable, or Node and bin/run.js for the comparison. */
  const run = (cmd: string[], args: string[], env: Record<string, string> = {}, home = 'home'): Promise<Run> => {
    const h = path.join(dir, home)
    rmSync(h, { recursive: true, force: true })
    mkdirSync(h)
    return new Promise((resolve, reject) => {
      const child = spawn(cmd[0], [...cmd.slice(1), ...args], {
        cwd: dir,
        env: { PATH: pathDir, HOME: h, XDG_CONFIG_HOME: path.join(h, '.config'), XDG_CACHE_HOME: path.join(h, '.cache'), LANG: 'C.UTF-8', NO_COLOR: '1', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
      endStdin(child, '')
    })
  }
  const sea = (args: string[], env?: Record<string, string>) => run([BINARY], args, env)

  test('no Node on its PATH, and it runs: --version names the Node inside', async () => {
    const found = spawnSync('/bin/sh', ['-c', 'command -v node || command -v nodejs || command -v npm'], { env: { PATH: pathDir } })
    assert.notEqual(found.status, 0, `a Node is on the test PATH: ${found.stdout}`)
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
    const res = await sea(['--version'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.stdout, `pdsctl/${version} linux-${process.arch} node-v${SEA_NODE_VERSION}\n`)
  })

  test('health and account list against the real PDS', async () => {
    const a = await bed.createAccount(`sea-a${bed.handleDomain}`)
    const b = await bed.createAccount(`sea-b${bed.handleDomain}`)
    const env = { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword }
    const health = await sea(['health', '--json'], env)
    assert.equal(health.code, 0, health.stderr)
    assert.equal(JSON.parse(health.stdout).healthy, true)
    const list = await sea(['account', 'list', '--json'], env)
    assert.equal(list.code, 0, list.stderr)
    const rows = JSON.parse(list.stdout) as Array<{ did: string; handle: string; email: string }>
    for (const acct of [a, b]) assert.ok(rows.some((r) => r.did === acct.did && r.handle === acct.handle && r.email === acct.email), list.stdout)
    // Piped: tab-separated rows, as from bin/run.js.
    const tsv = await sea(['account', 'list'], env)
    assert.equal(tsv.code, 0, tsv.stderr)
    assert.ok(tsv.stdout.split('\n').some((l) => l.startsWith(`${a.handle}\t${a.email}\t`) && l.split('\t').includes(a.did)), tsv.stdout)
  })

  test('k8s status with the real kubectl against the fake cluster: health through the port-forward', async () => {
    const res = await sea(['k8s', 'status', ...KUBE, '--json'], kube.env)
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as { deployment?: { name: string }; health?: { ok: boolean; version: string } }
    assert.equal(s.deployment?.name, 'bluesky')
    assert.equal(s.health?.ok, true)
    assert.equal(s.health?.version, '0.4.219')
    assert.deepEqual(await noKubectlLeft(kube.cacheDir), [], 'no kubectl survives')
  })

  test('the same answers as bin/run.js on the same Node: help, topics, completion, unknown commands, leading flags, usage errors', async () => {
    const node = execFileSync('bash', [path.join(ROOT, 'scripts', 'fetch-node.sh'), SEA_NODE_VERSION], { encoding: 'utf8' }).trim()
    const down = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }
    const cases: Array<[string[], Record<string, string>?]> = [
      [[]],
      [['--help']],
      [['-h']],
      [['account']],
      [['account', 'invites']],
      [['account', 'list', '--help']],
      [['account', 'list', '-h']],
      [['backup', 'verify', '--help']],
      [['help']],
      [['help', 'account', 'list']],
      [['help', '-n']],
      [['help', 'acount']],
      [['acount', 'list']],
      [['acount', 'list', '--json']],
      [['autocomplete', 'bash']],
      [['autocomplete', 'script', 'zsh']],
      [['version', '--json']],
      [['account', 'list', '--bogus']],
      [['account', 'info']],
      [['--url', 'http://127.0.0.1:9', 'health', '--json']],
      [['account', 'takedown', 'did:plc:not-valid!', '--dry-run'], down],
      [['account', 'list', '--json'], down],
    ]
    for (const [args, env] of cases) {
      const a = await run([BINARY], args, env, 'home-a')
      const b = await run([node, '--', BIN], args, env, 'home-b')
      const same = (s: string) => s.replaceAll(path.join(dir, 'home-b'), path.join(dir, 'home-a'))
      assert.deepEqual(a, { code: b.code, stdout: same(b.stdout), stderr: same(b.stderr) }, `pdsctl ${args.join(' ')}`)
    }
  })
})
