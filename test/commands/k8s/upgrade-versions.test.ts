// `pdsctl k8s upgrade` never downgrades: PDS versions are compared (what the running pod
// reports, read through the image's tag scheme, else its tag's), never tag strings, across
// pods of the 0.4 line (0.4.NNN), of the 0.5 line under 0.4.50NN tags (which report the
// tag), and pods reporting a plain 0.5 version. End to end: pdsctl → the real kubectl → the
// fake cluster → port-forwards to the test PDS, or to a lying server in front of it that
// answers /xrpc/_health as a given image would (and passes everything else to the PDS).
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../../bed/fakeKube.js'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { startLyingServer, type LyingServer } from '../../bed/lying.js'
import { runCli } from '../../helpers/cli.js'
import { noKubectlLeft } from '../../helpers/processes.js'
import { runPty } from '../../helpers/pty.js'
import type { UpgradeResult } from '../../../src/lib/k8s/upgrade.js'

const KUBE = ['--kube-namespace', 'bluesky', '--kube-service', 'bluesky']
const REPO = 'ghcr.io/bluesky-social/pds'

describe('pdsctl k8s upgrade: never a downgrade', () => {
  let bed: TestBed
  const fakes: FakeKube[] = []
  const liars: LyingServer[] = []
  /** A PDS whose /xrpc/_health reports `version` (as an image of that tag does); the rest is the bed's. */
  const reporting = async (version: string) => {
    const l = await startLyingServer({ upstream: bed.url })
    l.answer('_health', () => ({ json: { version } }))
    liars.push(l)
    return l.port
  }
  const fake = async (o: Partial<FakeKubeOptions> & { image: string }) => {
    const f = await startFakeKube({ backendPort: bed.port, ...o })
    fakes.push(f)
    return f
  }
  const patches = (f: FakeKube) => f.requests.filter((r) => r.method === 'PATCH')
  before(async () => {
    // The bed reports 0.4.219, as the official image of that tag does.
    bed = await startTestBed({ version: '0.4.219' })
    await bed.seed(1, 'ver')
  })
  afterEach(async () => {
    for (const f of fakes) assert.deepEqual(await noKubectlLeft(f.cacheDir), [], 'no kubectl survives')
  })
  after(async () => {
    for (const f of fakes) await f.close()
    for (const l of liars) await l.close()
    await bed.close()
  })

  test('a 0.4.5026 pod (PDS 0.5.26, reporting its tag): --yes alone finds nothing newer and changes nothing', async () => {
    const f = await fake({ image: `${REPO}:0.4.5026`, backendPort: await reporting('0.4.5026') })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--yes', '--json'], { env: f.env })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.deepEqual(r.from, { image: `${REPO}:0.4.5026`, tag: '0.4.5026', version: '0.5.26', reported: '0.4.5026' })
    assert.deepEqual(r.to, { image: `${REPO}:0.4.5026`, tag: '0.4.5026', version: '0.5.26', reported: null })
    assert.equal(r.direction, 'same')
    assert.match(res.stderr, /Nothing to do: bluesky already runs ghcr\.io\/bluesky-social\/pds:0\.4\.5026\./)
    assert.deepEqual(patches(f), [])
  })

  test('a 0.4.5026 pod: --image-tag 0.4.219 (and 0.4.999, whose tag sorts after 0.4.5026) is refused before anything changes, exit 2', async () => {
    const f = await fake({ image: `${REPO}:0.4.5026`, backendPort: await reporting('0.4.5026') })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219', '--yes', '--json'], { env: f.env })
    assert.equal(res.code, 2, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.equal(r.direction, 'downgrade')
    assert.deepEqual(r.from, { image: `${REPO}:0.4.5026`, tag: '0.4.5026', version: '0.5.26', reported: '0.4.5026' })
    assert.deepEqual(r.to, { image: `${REPO}:0.4.219`, tag: '0.4.219', version: '0.4.219', reported: null })
    assert.deepEqual(r.steps.map((s) => [s.step, s.status]), [['read-deployment', 'ok'], ['health-before', 'ok'], ['versions', 'warning'], ['set-image', 'skipped']])
    assert.equal(r.steps[2].detail, 'PDS 0.5.26 (the pod reports 0.4.5026; image tag 0.4.5026) → PDS 0.4.219: a DOWNGRADE')
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('Error: '))
    assert.equal(errors.length, 1, res.stderr)
    assert.match(
      errors[0],
      /^Error: refusing to downgrade bluesky from PDS 0\.5\.26 \(tag 0\.4\.5026\) to PDS 0\.4\.219: the PDS migrates its databases forward when it starts and never back, .*"corrupted migrations".* \(from the 0\.5 line back to 0\.4\); nothing was changed\. To go back, restore a backup taken before the upgrade; to move anyway, re-run with --allow-downgrade \(and type the tag to confirm, on a terminal\)$/,
    )

    const odd = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.999', '--yes'], { env: f.env })
    assert.equal(odd.code, 2, odd.stderr)
    assert.match(odd.stderr, /^Error: refusing to downgrade bluesky from PDS 0\.5\.26 \(tag 0\.4\.5026\) to PDS 0\.4\.999: /m)
    assert.deepEqual(patches(f), [], 'nothing reached the Deployment')
    assert.equal(f.state().image, `${REPO}:0.4.5026`)
  })

  test('--allow-downgrade --yes off a terminal is still refused: the downgrade is confirmed by typing its tag', async () => {
    const f = await fake({ image: `${REPO}:0.4.5026`, backendPort: await reporting('0.4.5026') })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219', '--allow-downgrade', '--yes'], { env: f.env })
    assert.equal(res.code, 2, res.stderr)
    assert.match(res.stderr, /^Error: --allow-downgrade needs its confirmation typed on a terminal, and pdsctl is not running interactively: PDS 0\.4\.219 is older than the running PDS 0\.5\.26 \(tag 0\.4\.5026\): .*\. Run it on a terminal and type 0\.4\.219 when asked; --yes does not confirm a downgrade$/m)
    assert.deepEqual(patches(f), [])
  })

  test('a 0.4.NNN pod: an older 0.4 tag is refused, exit 2', async () => {
    const f = await fake({ image: `${REPO}:0.4.219` })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.218', '--yes'], { env: f.env })
    assert.equal(res.code, 2, res.stderr)
    assert.match(res.stderr, /^Error: refusing to downgrade bluesky from PDS 0\.4\.219 to PDS 0\.4\.218: the PDS migrates its databases forward/m)
    assert.doesNotMatch(res.stderr, /line back/, 'the same line')
    assert.deepEqual(patches(f), [])
  })

  test('a pod reporting a plain 0.5 version (0.5.35, newer than the known 0.5.26): the known tag is not newer, and 0.4.5026 is a downgrade', async () => {
    const f = await fake({ image: `${REPO}:0.4`, backendPort: await reporting('0.5.35') })
    const known = await runCli(['k8s', 'upgrade', ...KUBE, '--yes', '--json'], { env: f.env })
    assert.equal(known.code, 0, known.stderr)
    const r = JSON.parse(known.stdout) as UpgradeResult
    assert.deepEqual(r.from, { image: `${REPO}:0.4`, tag: '0.4', version: '0.5.35', reported: '0.5.35' })
    assert.equal(r.direction, 'downgrade')
    assert.deepEqual(r.steps.at(-1), {
      step: 'set-image',
      status: 'skipped',
      detail: 'nothing newer is known: pdsctl knows of ghcr.io/bluesky-social/pds:0.4.5026 (PDS 0.5.26, recorded 2026-12-01), and bluesky runs PDS 0.5.35 (tag 0.4)',
    })
    assert.match(known.stderr, /Nothing to do: nothing newer is known: /)

    const flag = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.5026', '--yes'], { env: f.env })
    assert.equal(flag.code, 2, flag.stderr)
    assert.match(flag.stderr, /^Error: refusing to downgrade bluesky from PDS 0\.5\.35 \(tag 0\.4\) to PDS 0\.5\.26 \(tag 0\.4\.5026\): /m)
    assert.deepEqual(patches(f), [])
  })

  test('a tag whose version cannot be told (latest, sha-…, a pre-release) is refused, exit 2', async () => {
    const f = await fake({ image: `${REPO}:0.4.219` })
    for (const tag of ['latest', 'sha-0123456789abcdef0123456789abcdef01234567', '0.4.5026-rc1']) {
      const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', tag, '--yes'], { env: f.env })
      assert.equal(res.code, 2, `${tag}: ${res.stderr}`)
      assert.match(res.stderr, new RegExp(`^Error: refusing to set bluesky to ghcr\\.io/bluesky-social/pds:${tag.replace(/\./g, '\\.')}: .*, so pdsctl cannot tell whether it is a downgrade \\(which breaks the databases\\); nothing was changed\\. Name a release tag \\(e\\.g\\. 0\\.4\\.5026\\), or re-run with --allow-downgrade`, 'm'))
    }
    assert.deepEqual(patches(f), [])
  })

  test('0.4.219 → 0.4.5026: the new pod must report 0.4.5026 (its tag); one still reporting 0.4.219 is a failure, rolled back', async () => {
    // Pods of the new image answer through a server reporting 0.4.5026, as the image does.
    const f = await fake({ image: `${REPO}:0.4.219`, imageBackends: { [`${REPO}:0.4.5026`]: await reporting('0.4.5026') } })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.5026', '--yes', '--json'], { env: f.env, timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.equal(r.direction, 'upgrade')
    assert.deepEqual(r.from, { image: `${REPO}:0.4.219`, tag: '0.4.219', version: '0.4.219', reported: '0.4.219' })
    assert.deepEqual(r.to, { image: `${REPO}:0.4.5026`, tag: '0.4.5026', version: '0.5.26', reported: '0.4.5026' })
    assert.equal(r.steps.find((s) => s.step === 'versions')?.detail, 'PDS 0.4.219 (the pod reports 0.4.219; image tag 0.4.219) → PDS 0.5.26 (tag 0.4.5026): an upgrade')
    assert.match(res.stderr, /Upgraded bluesky from ghcr\.io\/bluesky-social\/pds:0\.4\.219 to ghcr\.io\/bluesky-social\/pds:0\.4\.5026 \(PDS 0\.5\.26, reported as 0\.4\.5026\)\./)
    assert.equal(f.state().image, `${REPO}:0.4.5026`)

    // The same rollout where the new pod still answers as the old PDS: failed, rolled back.
    const stale = await fake({ image: `${REPO}:0.4.219` })
    const bad = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.5026', '--yes', '--json'], { env: stale.env, timeoutMs: 60_000 })
    assert.equal(bad.code, 1, bad.stderr)
    const b = JSON.parse(bad.stdout) as UpgradeResult
    assert.equal(b.rolledBack, true)
    assert.equal(b.to.reported, '0.4.219')
    assert.match(bad.stderr, /^Error: the upgrade of bluesky to ghcr\.io\/bluesky-social\/pds:0\.4\.5026 failed at health-after: the new pod still reports the old version 0\.4\.219, not 0\.4\.5026; rolled back: the Deployment runs ghcr\.io\/bluesky-social\/pds:0\.4\.219 again/m)
    assert.equal(stale.state().image, `${REPO}:0.4.219`)
  })

  test('"Nothing to do" on a crash-looping Deployment (0/1 available) exits 6 with what is wrong', async () => {
    const f = await fake({ image: `${REPO}:0.4.219`, initialScenario: 'crash' })
    const res = await runCli(['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219', '--yes', '--json'], { env: f.env })
    assert.equal(res.code, 6, res.stderr)
    const r = JSON.parse(res.stdout) as UpgradeResult
    assert.deepEqual(r.steps.slice(-2).map((s) => [s.step, s.status]), [['set-image', 'skipped'], ['deployment-health', 'failed']])
    assert.match(res.stderr, /^Error: nothing to upgrade \(bluesky already runs ghcr\.io\/bluesky-social\/pds:0\.4\.219\), but Deployment bluesky is not healthy: Deployment bluesky: 0 of 1 replicas available; pod bluesky-0 is in CrashLoopBackOff \(\d+ restarts; last exit: Error, code 1\)\. See why with `kubectl describe deployment\/bluesky -n bluesky` and `kubectl logs deployment\/bluesky -n bluesky --previous`$/m)
    assert.doesNotMatch(res.stderr, /Nothing to do/)
    assert.deepEqual(patches(f), [])
  })

  test('--allow-downgrade on a terminal: the tag must be typed; a wrong one changes nothing, the right one rolls back to 0.4.219', async () => {
    const f = await fake({ image: `${REPO}:0.4.5026`, backendPort: await reporting('0.4.5026'), imageBackends: { [`${REPO}:0.4.219`]: bed.port } })
    const args = ['k8s', 'upgrade', ...KUBE, '--image-tag', '0.4.219', '--allow-downgrade', '--yes']
    const wrong = runPty(args, f.env)
    await wrong.waitFor(/Warning: PDS 0\.4\.219 is older than the running PDS 0\.5\.26 \(tag 0\.4\.5026\)[\s\S]*type the new tag \(0\.4\.219\):/)
    wrong.write('y\r')
    assert.equal(await wrong.exited, 2, wrong.screen)
    assert.match(wrong.screen, /Error: cancelled: "y" is not 0\.4\.219; nothing was changed/)
    assert.deepEqual(patches(f), [])

    const right = runPty(args, f.env)
    await right.waitFor(/type the new tag \(0\.4\.219\):/)
    right.write('0.4.219\r')
    assert.equal(await right.exited, 0, right.screen)
    assert.match(right.screen, /Upgraded bluesky from ghcr\.io\/bluesky-social\/pds:0\.4\.5026 to ghcr\.io\/bluesky-social\/pds:0\.4\.219 \(PDS 0\.4\.219\)/)
    assert.equal(f.state().image, `${REPO}:0.4.219`)
  })
})
