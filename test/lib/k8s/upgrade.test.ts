// The pure parts of the upgrade: tags checked, why a downgrade is refused, PDS_VERSION in
// the Deployment (tags and versions themselves: imageTags.test.ts).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkImageTag, downgradeWhy, KNOWN_PDS_IMAGE, pdsVersionOverride } from '../../../src/lib/k8s/upgrade.js'
import { UsageError } from '../../../src/lib/errors.js'

describe('upgrade helpers', () => {
  test('why a downgrade is refused: forward-only migrations, and the line it goes back across', () => {
    assert.match(downgradeWhy('0.5.26', '0.4.219'), /migrates its databases forward when it starts and never back.*"corrupted migrations".*\(from the 0\.5 line back to 0\.4\)$/)
    assert.doesNotMatch(downgradeWhy('0.5.26', '0.5.6'), /line back/)
  })

  test('PDS_VERSION set on the PDS container: the PDS reports that, whatever its image', () => {
    const dep = (env: unknown[]) => ({ spec: { template: { spec: { containers: [{ name: 'pds', image: 'x', env }] } } } })
    assert.equal(pdsVersionOverride(dep([{ name: 'PDS_VERSION', value: '9.9.9' }])), '9.9.9')
    assert.equal(pdsVersionOverride(dep([{ name: 'PDS_VERSION', valueFrom: { configMapKeyRef: { name: 'c', key: 'v' } } }])), '(from a reference)')
    assert.equal(pdsVersionOverride(dep([{ name: 'PDS_HOSTNAME', value: 'x' }])), undefined)
    assert.equal(pdsVersionOverride(null), undefined)
    assert.equal(pdsVersionOverride({ spec: 'junk' } as never), undefined)
  })

  test('image tags are checked before anything runs', () => {
    for (const ok of ['0.4.219', 'latest', 'v0.5.0-rc.1', 'sha_1']) assert.doesNotThrow(() => checkImageTag(ok), ok)
    for (const bad of ['', 'bad tag', '-x', '.x', 'a:b', 'a/b', 'x'.repeat(129)]) assert.throws(() => checkImageTag(bad), UsageError, bad)
  })

  test('the known tag is data with a date and a source, and a valid tag', () => {
    assert.doesNotThrow(() => checkImageTag(KNOWN_PDS_IMAGE.tag))
    assert.match(KNOWN_PDS_IMAGE.recorded, /^\d{4}-\d{2}-\d{2}$/)
    assert.equal(KNOWN_PDS_IMAGE.repository, 'ghcr.io/bluesky-social/pds')
    assert.ok(KNOWN_PDS_IMAGE.source.length > 10)
  })
})

// The hooks the command wires (confirm, backup) against the real kubectl and the fake
// cluster; the backend has no PDS, so the before-check is only a warning and the after-check
// fails (which also exercises the rollback from a library caller's side).
describe('upgradePds hooks', () => {
  test('a failing backup stops everything before the patch; a good one runs after confirm and before set-image', async () => {
    const { startFakeKube, startLoopbackBackend } = await import('../../bed/fakeKube.js')
    const { upgradePds, UpgradeFailedError } = await import('../../../src/lib/k8s/upgrade.js')
    const { noKubectlLeft } = await import('../../helpers/processes.js')
    const backend = await startLoopbackBackend()
    const f = await startFakeKube({ backendPort: backend.port, image: 'ghcr.io/bluesky-social/pds:0.4.218' })
    const env = { ...process.env, ...f.env }
    const opts = { namespace: 'bluesky', service: 'bluesky', env, port: 3000, imageTag: '0.4.219', dryRun: false, rolloutTimeoutS: 20, timeoutMs: 10_000, forwardTimeoutS: 10 }
    const order: string[] = []
    try {
      await assert.rejects(
        upgradePds(opts, {
          status: () => {},
          confirm: async () => void order.push('confirm'),
          backup: async () => {
            order.push('backup')
            throw new UsageError('disk full')
          },
        }),
        (err: unknown) => {
          assert.ok(err instanceof UpgradeFailedError)
          assert.equal(err.message, 'the backup failed, so nothing was changed: disk full')
          assert.deepEqual(err.result.steps.map((s) => [s.step, s.status]), [['read-deployment', 'ok'], ['health-before', 'warning'], ['versions', 'ok'], ['backup', 'failed']])
          return true
        },
      )
      assert.deepEqual(order, ['confirm', 'backup'])
      assert.equal(f.requests.filter((r) => r.method === 'PATCH').length, 0)

      order.length = 0
      await assert.rejects(
        upgradePds(opts, {
          status: () => {},
          onStep: (s) => order.push(s.step),
          confirm: async () => void order.push('confirm'),
          backup: async () => 'every account backed up to /tmp/x (2 accounts)',
        }),
        (err: unknown) => {
          assert.ok(err instanceof UpgradeFailedError)
          assert.equal(err.result.rolledBack, true)
          assert.match(err.message, /failed at health-after: \/xrpc\/_health through pod\/\S+ failed: .*; rolled back: the Deployment runs ghcr\.io\/bluesky-social\/pds:0\.4\.218 again, 1\/1 available$/)
          return true
        },
      )
      assert.deepEqual(order, ['read-deployment', 'health-before', 'versions', 'confirm', 'backup', 'set-image', 'rollout', 'health-after', 'rollback', 'rollback-rollout'])
      assert.equal(f.state().image, 'ghcr.io/bluesky-social/pds:0.4.218')
      assert.deepEqual(await noKubectlLeft(f.cacheDir), [])
    } finally {
      await f.close()
      await backend.close()
    }
  })
})
