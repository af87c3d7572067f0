// `pdsctl k8s upgrade` end to end: pdsctl → the real kubectl → the fake cluster (whose
// rollout controller decides what a new image does) → port-forwards to the test PDS.
// Every test checks that no kubectl survives it.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../../bed/fakeKube.js'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type net from 'node:net'
import { BIN, cleanEnv, runCli } from '../../helpers/cli.js'
import { noKubectlLeft } from '../../helpers/processes.js'
import { runPty } from '../../helpers/pty.js'
import type { UpgradeResult } from '../../../src/lib/k8s/upgrade.js'
import { KNOWN_PDS_IMAGE } from '../../../src/lib/k8s/imageTags.js'

const KUBE = ['--kube-namespace', 'bluesky', '--kube-service', 'bluesky']
const REPO = 'ghcr.io/bluesky-social/pds'
// The bed reports this version on /xrpc/_health, as the official image does.
const BED_VERSION = '0.4.219'

describe('pdsctl k8s upgrade', () => {
  let bed: TestBed
  const fakes: FakeKube[] = []
  const fake = async (o: Partial<FakeKubeOptions> = {}) => {
    const f = await startFakeKube({ backendPort: bed.port, image: `${REPO}:0.4.218`, ...o })
    fakes.push(f)
    return f
  }
  const patches = (f: FakeKube) => f.requests.filter((r) => r.method === 'PATCH')
  before(async () => {
    bed = await startTestBed({ version: BED_VERSION })
    await bed.seed(2, 'upg')
  })
  afterEach(async () => {
    for (const f of fakes) assert.deepEqual(await noKubectlLeft(f.cacheDir), [], 'no kubectl survives')
  })
  after(async () => {
    for (const f of fakes) await f.close()
    await bed.close()
  })

  test('a good upgrade: image patched on the live Deployment, rollout waited, health and listing checked through the new pod', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', BED_VERSION, '--yes', '--json'], { env: f.env, timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.deepEqual(Object.keys(r).sort(), ['deployment', 'direction', 'dryRun', 'from', 'namespace', 'rolledBack', 'steps', 'tagSource', 'to'])
    assert.equal(r.deployment, 'bluesky')
    assert.equal(r.namespace, 'bluesky')
    // The bed's PDS reports 0.4.219 whatever the pod's image: the running version is what it reports.
    assert.deepEqual(r.from, { image: `${REPO}:0.4.218`, tag: '0.4.218', version: BED_VERSION, reported: BED_VERSION })
    assert.deepEqual(r.to, { image: `${REPO}:${BED_VERSION}`, tag: BED_VERSION, version: BED_VERSION, reported: BED_VERSION })
    assert.equal(r.direction, 'same')
    assert.equal(r.rolledBack, false)
    assert.equal(r.dryRun, false)
    assert.deepEqual(r.tagSource.from, 'flag')
    assert.deepEqual(r.steps.map((s) => [s.step, s.status]), [
      ['read-deployment', 'ok'],
      ['health-before', 'ok'],
      ['versions', 'ok'],
      ['set-image', 'ok'],
      ['rollout', 'ok'],
      ['health-after', 'ok'],
      ['list-accounts', 'ok'],
    ])
    assert.equal(r.steps[2].detail, 'PDS 0.4.219 (the pod reports 0.4.219; image tag 0.4.218) → PDS 0.4.219: the same PDS version (the image changes, the PDS does not)')
    assert.match(r.steps[5].detail, new RegExp(`^pod/bluesky-\\w+-\\w+ \\(${REPO}:${BED_VERSION}\\) answers /xrpc/_health in \\d+ ms, version ${BED_VERSION}$`))
    assert.match(r.steps[6].detail, /sync\.listRepos answered \(1 on the first page/)
    // The cluster: one strategic-merge patch of the image, the rollout watched, the new pod alone.
    const p = patches(f)
    assert.equal(p.length, 1)
    assert.equal(p[0].contentType, 'application/strategic-merge-patch+json')
    assert.match(p[0].body ?? '', new RegExp(`"image":"${REPO}:${BED_VERSION}","name":"pds"`))
    assert.ok(f.requests.some((q) => /\/deployments\?.*fieldSelector=metadata\.name%3Dbluesky.*watch=true/.test(q.path)), 'kubectl rollout status watched the Deployment')
    const st = f.state()
    assert.equal(st.image, `${REPO}:${BED_VERSION}`)
    assert.equal(st.revision, 2)
    assert.deepEqual(st.pods.map((x) => [x.image, x.scenario]), [[`${REPO}:${BED_VERSION}`, 'ready']])
    // The checks went to the new pod, not to whatever the Service picked.
    const newPod = st.pods[0].name
    assert.ok(f.requests.some((q) => q.method === 'POST' && q.path === `/api/v1/namespaces/bluesky/pods/${newPod}/portforward`))
    assert.match(res.stderr, /Upgraded bluesky from ghcr\.io\/bluesky-social\/pds:0\.4\.218 to ghcr\.io\/bluesky-social\/pds:0\.4\.219 \(PDS 0\.4\.219\)\. Update your manifests/)
    assert.ok(!res.stderr.includes('Error'), res.stderr)
  })

  test('the new image crash-loops: the rollout times out, is undone and waited for; exit 1 with what happened', async () => {
    const f = await fake({ scenario: 'crash' })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.220', '--yes', '--rollout-timeout', '3', '--json'], { env: f.env, timeoutMs: 60_000 })
    assert.equal(res.code, 1, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.equal(r.rolledBack, true)
    assert.deepEqual(r.steps.map((s) => [s.step, s.status]), [
      ['read-deployment', 'ok'],
      ['health-before', 'ok'],
      ['versions', 'ok'],
      ['set-image', 'ok'],
      ['rollout', 'failed'],
      ['rollback', 'ok'],
      ['rollback-rollout', 'ok'],
    ])
    assert.match(r.steps[4].detail, /^error: timed out waiting for the condition \(last: Waiting for deployment "bluesky" rollout to finish: 1 old replicas are pending termination\.\.\.\)$/)
    assert.match(r.steps[5].detail, /deployment\.apps\/bluesky rolled back/)
    assert.match(r.steps[6].detail, new RegExp(`the Deployment runs ${REPO}:0\\.4\\.218 again, 1/1 available`))
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('Error: '))
    assert.equal(errors.length, 1, res.stderr)
    assert.match(errors[0], /^Error: the upgrade of bluesky to ghcr\.io\/bluesky-social\/pds:0\.4\.220 failed at rollout: error: timed out waiting for the condition .*; rolled back: the Deployment runs ghcr\.io\/bluesky-social\/pds:0\.4\.218 again, 1\/1 available\. See why with `pdsctl k8s status`/)
    assert.ok(!/\n\s+at /.test(res.stderr), 'no stack trace')
    // The cluster: the image patch, then kubectl's undo (a JSON patch back to the old template).
    const p = patches(f)
    assert.deepEqual(p.map((x) => x.contentType), ['application/strategic-merge-patch+json', 'application/json-patch+json'])
    assert.match(p[1].body ?? '', new RegExp(`"image":"${REPO}:0\\.4\\.218"`))
    const st = f.state()
    assert.equal(st.image, `${REPO}:0.4.218`)
    assert.deepEqual(st.pods.map((x) => [x.name, x.scenario]), [['bluesky-0', 'ready']])
    assert.equal(st.replicaSets.find((x) => x.image.endsWith(':0.4.220'))?.replicas, 0)
  })

  test('the new pod still reports the old version: health-after fails and the upgrade is rolled back', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.230', '--yes'], { env: f.env, timeoutMs: 60_000 })
    assert.equal(res.code, 1, res.stderr)
    // Piped: the steps as tab-separated rows.
    const rows = res.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
    assert.deepEqual(rows.map((x) => [x[0], x[1]]), [
      ['read-deployment', 'ok'],
      ['health-before', 'ok'],
      ['versions', 'ok'],
      ['set-image', 'ok'],
      ['rollout', 'ok'],
      ['health-after', 'failed'],
      ['rollback', 'ok'],
      ['rollback-rollout', 'ok'],
    ])
    assert.match(res.stderr, /^Error: the upgrade of bluesky to ghcr\.io\/bluesky-social\/pds:0\.4\.230 failed at health-after: the new pod still reports the old version 0\.4\.219, not 0\.4\.230; rolled back: the Deployment runs ghcr\.io\/bluesky-social\/pds:0\.4\.218 again/m)
    assert.equal(f.state().image, `${REPO}:0.4.218`)
  })

  test('--dry-run prints the plan and sends no PATCH', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219', '--dry-run', '--json'], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.equal(r.dryRun, true)
    assert.deepEqual(r.steps.map((s) => [s.step, s.status]), [
      ['read-deployment', 'ok'],
      ['health-before', 'ok'],
      ['versions', 'ok'],
      ['set-image', 'planned'],
      ['rollout', 'planned'],
      ['health-after', 'planned'],
      ['list-accounts', 'planned'],
      ['rollback-if-failed', 'planned'],
    ])
    assert.match(r.steps[3].detail, /^kubectl set image deployment\/bluesky pds=ghcr\.io\/bluesky-social\/pds:0\.4\.219 /)
    assert.deepEqual(patches(f), [])
    assert.equal(f.state().revision, 1)
    assert.match(res.stderr, /Dry run: nothing was changed\./)
  })

  test('no --image-tag: says which tag it would use and why (the known newest, as tag and PDS version), changes nothing', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--json'], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.equal(r.tagSource.from, 'known')
    assert.equal(r.tagSource.tag, KNOWN_PDS_IMAGE.tag)
    assert.deepEqual(r.to, { image: `${REPO}:${KNOWN_PDS_IMAGE.tag}`, tag: KNOWN_PDS_IMAGE.tag, version: KNOWN_PDS_IMAGE.pdsVersion, reported: null })
    assert.equal(r.direction, 'upgrade')
    assert.ok(r.steps.filter((s) => !['read-deployment', 'health-before', 'versions'].includes(s.step)).every((s) => s.status === 'planned'))
    assert.match(res.stderr, /No --image-tag: pdsctl would use 0\.4\.5026, the newest official PDS image tag pdsctl knows of \(ghcr\.io\/bluesky-social\/pds:0\.4\.5026 = PDS 0\.5\.26, recorded \d{4}-\d{2}-\d{2}; bluesky-social\/pds PR #364.*\)\. Nothing was changed\. Re-run with --image-tag 0\.4\.5026 \(or another tag\), or with --yes to use it\./)
    assert.deepEqual(patches(f), [])
  })

  test('not interactive and no --yes: exit 2 naming --yes, nothing changed; a bad tag is refused before kubectl runs', async () => {
    const f = await fake()
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219'], { env: f.env })
    assert.equal(res.code, 2, res.stderr)
    assert.match(res.stderr, /^Error: --yes is required when not running interactively\. Re-run with --yes to upgrade deployment bluesky in bluesky from ghcr\.io\/bluesky-social\/pds:0\.4\.218 to ghcr\.io\/bluesky-social\/pds:0\.4\.219$/m)
    assert.match(res.stderr, /Take a backup first: `pdsctl backup DIR`, or re-run with --backup DIR\./)
    assert.deepEqual(patches(f), [])

    const before = f.requests.length
    const bad = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', 'bad tag!', '--yes', '--json'], { env: f.env })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^Error: --image-tag "bad tag!" is not an image tag/m)
    assert.equal(JSON.parse(bad.stdout).error.name, 'UsageError')
    assert.equal(f.requests.length, before, 'no request reached the cluster')
  })

  test('already on that image: nothing to do, no PATCH', async () => {
    const f = await fake({ image: `${REPO}:${BED_VERSION}` })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', BED_VERSION, '--yes'], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stderr, /Nothing to do: bluesky already runs ghcr\.io\/bluesky-social\/pds:0\.4\.219\./)
    assert.deepEqual(patches(f), [])
  })

  test('--backup DIR: the backup runs after the confirmation and before the patch (refused cleanly while this build has no backup module)', async () => {
    const f = await fake()
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-upgrade-backup-'))
    try {
      const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', BED_VERSION, '--yes', '--backup', dir, '--json'], { env: { ...f.env, PDS_ADMIN_PASSWORD: bed.adminPassword }, timeoutMs: 120_000 })
      if (/--backup needs `pdsctl backup`, which this build of pdsctl does not have/.test(res.stderr)) {
        // Before `pdsctl backup` is merged: refused before anything reaches the cluster.
        assert.equal(res.code, 2)
        assert.deepEqual(f.requests, [])
        return
      }
      assert.equal(res.code, 0, res.stderr)
      const r = JSON.parse(res.stdout) as UpgradeResult
      assert.deepEqual(r.steps.map((s) => s.step).slice(0, 5), ['read-deployment', 'health-before', 'versions', 'backup', 'set-image'])
      assert.equal(r.steps[3].status, 'ok')
      assert.match(r.steps[3].detail, /every account backed up to /)
      assert.ok(readdirSync(dir).length > 0, 'the backup wrote something')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('Ctrl-C during the rollout: exit 130, a warning that the rollout goes on and how to undo it, no kubectl left', async () => {
    const f = await fake({ scenario: 'crash' })
    const child = spawn(process.execPath, [BIN, 'k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.220', '--yes', '--rollout-timeout', '60'], { env: cleanEnv(f.env), stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    const deadline = Date.now() + 20_000
    while (!f.requests.some((q) => q.path.includes('watch=true') && q.path.includes('/deployments')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.ok(err.includes('✓ set-image'), err)
    child.kill('SIGINT')
    assert.equal(await closed, 130, err)
    assert.match(err, /Warning: stopped after the image was set: the rollout goes on in the cluster without pdsctl's checks\. Look with `pdsctl k8s status`; undo with `kubectl rollout undo deployment\/bluesky -n bluesky`/)
    assert.deepEqual(await noKubectlLeft(f.cacheDir), [])
  })

  test('a PDS that reports no version (0.4.x from npm): the tag is the version, and the new pod\'s image is what is checked', async () => {
    // The bed is 0.5.x and always reports a version; a 0.4.x PDS run from npm answers `{}`.
    // A loopback proxy answers _health that way and passes everything else to the bed.
    const proxy = http.createServer((req, res) => {
      if (req.url === '/xrpc/_health') {
        res.writeHead(200, { 'content-type': 'application/json' })
        return void res.end('{}')
      }
      const up = http.request({ host: '127.0.0.1', port: bed.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
    try {
      const f = await startFakeKube({ backendPort: (proxy.address() as net.AddressInfo).port, image: `${REPO}:0.4.218` })
      fakes.push(f)
      const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219', '--yes', '--json'], { env: f.env, timeoutMs: 60_000 })
      assert.equal(res.code, 0, res.stderr)
      const r = JSON.parse(res.stdout) as UpgradeResult
      assert.deepEqual(r.from, { image: `${REPO}:0.4.218`, tag: '0.4.218', version: '0.4.218', reported: null })
      assert.deepEqual(r.to, { image: `${REPO}:0.4.219`, tag: '0.4.219', version: '0.4.219', reported: null })
      assert.equal(r.direction, 'upgrade')
      const after = r.steps.find((s) => s.step === 'health-after')
      assert.equal(after?.status, 'ok')
      assert.match(after?.detail ?? '', /version not reported; the PDS reports no version, and the pod runs ghcr\.io\/bluesky-social\/pds:0\.4\.219$/)
      assert.equal(r.steps.find((s) => s.step === 'list-accounts')?.status, 'ok')
    } finally {
      proxy.closeAllConnections()
      await new Promise((r) => proxy.close(r))
    }
  })

  test('Recreate (as k8s manifests writes): the old pod goes first; a crash-looping image is rolled back to a fresh pod of the old one', async () => {
    const f = await fake({ strategy: 'Recreate', scenario: 'crash', imageScenarios: { [`${REPO}:0.4.218`]: 'ready' } })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.220', '--yes', '--rollout-timeout', '3', '--json'], { env: f.env, timeoutMs: 60_000 })
    assert.equal(res.code, 1, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.equal(r.rolledBack, true)
    const rollout = r.steps.find((s) => s.step === 'rollout')
    assert.equal(rollout?.status, 'failed')
    assert.match(rollout?.detail ?? '', /timed out waiting for the condition \(last: Waiting for deployment "bluesky" rollout to finish: 0 of 1 updated replicas are available\.\.\.\)/)
    assert.match(r.steps.at(-1)?.detail ?? '', new RegExp(`the Deployment runs ${REPO}:0\\.4\\.218 again, 1/1 available$`))
    const st = f.state()
    assert.equal(st.pods.length, 1)
    assert.notEqual(st.pods[0].name, 'bluesky-0', 'the first pod was deleted by Recreate; a new one of the old template runs')
    assert.deepEqual([st.pods[0].image, st.pods[0].scenario], [`${REPO}:0.4.218`, 'ready'])
  })

  test('on a terminal it asks: "no" changes nothing, "yes" upgrades', async () => {
    const f = await fake()
    const no = runPty(['k8s', 'upgrade', ...KUBE, '--image-tag', BED_VERSION], f.env)
    await no.waitFor(/Take a backup first[\s\S]*Upgrade Deployment bluesky in bluesky from ghcr\.io\/bluesky-social\/pds:0\.4\.218\sto ghcr\.io\/bluesky-social\/pds:0\.4\.219\?/)
    no.write('n\r')
    assert.equal(await no.exited, 2, "declined: cancelled, exit 2 (as gh), not a server failure")
    assert.match(no.screen, /Error: cancelled: nothing was changed/)
    assert.deepEqual(patches(f), [])

    const yes = runPty(['k8s', 'upgrade', ...KUBE, '--image-tag', BED_VERSION], f.env)
    await yes.waitFor(/Upgrade Deployment bluesky [\s\S]*\?/)
    yes.write('y\r')
    assert.equal(await yes.exited, 0, yes.screen)
    assert.match(yes.screen, /STEP\s+STATUS\s+DETAIL\n[\s\S]*list-accounts\s+ok/)
    assert.equal(f.state().image, `${REPO}:${BED_VERSION}`)
  })
})
