// readCluster and findProblems against kubectl output of odd shapes (a stand-in kubectl
// that prints a file), and the runner's deadline: kubectl killed, one KubeError line.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { findProblems, readCluster } from '../../../src/lib/k8s/status.js'
import { kubectlOk } from '../../../src/lib/k8s/kubectl.js'
import { KubeError } from '../../../src/lib/errors.js'

describe('k8s status parsing', () => {
  let dir: string
  let kubectl: string
  const answer = (body: unknown) => writeFileSync(path.join(dir, 'out.json'), JSON.stringify(body))
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'k8s-status-'))
    kubectl = path.join(dir, 'kubectl')
    // Prints the prepared answer; records its argv; `sleep` mode for the deadline test.
    writeFileSync(kubectl, `#!/bin/sh\necho "$@" > "${dir}/argv"\n[ -f "${dir}/sleep" ] && exec sleep 30\ncat "${dir}/out.json"\n`)
    chmodSync(kubectl, 0o755)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('sparse objects (no status, no conditions, no counts) are read without crashing and judged', async () => {
    answer({
      kind: 'List',
      items: [
        { kind: 'Deployment', metadata: { name: 'pds', namespace: 'p' }, spec: { selector: { matchLabels: { app: 'pds' } }, template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }, { name: 'pds', image: 'ghcr.io/bluesky-social/pds:0.4.219' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'pds-data' } }, { name: 'e', emptyDir: {} }] } } } },
        { kind: 'Pod', metadata: { name: 'pds-1', labels: { app: 'pds' } }, spec: { containers: [{ name: 'pds', image: 'ghcr.io/bluesky-social/pds:0.4.219' }] }, status: { phase: 'Running', containerStatuses: [{ name: 'pds', image: 'ghcr.io/bluesky-social/pds@sha256:0123', ready: false, restartCount: 7, state: { running: {} }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] } },
        { kind: 'Pod', metadata: { name: 'other', labels: { app: 'web' } }, status: { phase: 'Failed' } },
        { kind: 'PersistentVolumeClaim', metadata: { name: 'pds-data' } },
        { kind: 'PersistentVolumeClaim', metadata: { name: 'unrelated' }, status: { phase: 'Pending' } },
        { kind: 'Service', metadata: { name: 'pds' }, spec: { selector: { app: 'pds' } } },
        { kind: 'Event', type: 'Normal', reason: 'Pulled', involvedObject: { kind: 'Pod', name: 'pds-1' } },
        { kind: 'Event', type: 'Warning', reason: 'Old', message: 'x', involvedObject: { kind: 'Pod', name: 'pds-1' }, lastTimestamp: '2026-01-01T00:00:00Z' },
        { kind: 'Event', type: 'Warning', reason: 'New', message: 'y', involvedObject: { kind: 'Pod', name: 'pds-1' }, eventTime: '2026-02-01T00:00:00.000000Z', count: 3 },
        { kind: 'Event', type: 'Warning', reason: 'Unrelated', message: 'z', involvedObject: { kind: 'Pod', name: 'web-1' }, lastTimestamp: '2026-03-01T00:00:00Z' },
        { kind: 'Event', type: 'Warning', reason: 'Gone', message: 'w', involvedObject: { kind: 'Pod', name: 'pds-7d9f-abcde' }, lastTimestamp: '2026-01-15T00:00:00Z' },
        { kind: 'Event', apiVersion: 'events.k8s.io/v1', type: 'Warning', reason: 'V1', note: 'n', regarding: { kind: 'Pod', name: 'pds-1' }, deprecatedLastTimestamp: '2026-01-20T00:00:00Z', deprecatedCount: 2 },
        'garbage',
        null,
      ],
    })
    const t = { kubectl, namespace: 'p', service: 'pds' }
    const s = await readCluster(t)
    assert.equal(s.namespace, 'p')
    assert.equal(s.deployment?.container, 'pds', 'the PDS container, not the sidecar')
    assert.deepEqual(s.deployment?.replicas, { desired: 1, ready: 0, updated: 0, available: 0 })
    assert.deepEqual(s.deployment?.conditions, [])
    assert.deepEqual(s.pods.map((p) => [p.name, p.restarts, p.ready, p.lastTermination?.reason]), [['pds-1', 7, false, 'OOMKilled']])
    assert.equal(s.pods[0].image, 'ghcr.io/bluesky-social/pds:0.4.219', 'the image as set in the spec, not as the runtime reports it')
    assert.deepEqual(s.pvcs.map((p) => [p.name, p.phase, p.bound]), [['pds-data', 'Unknown', false]])
    assert.deepEqual(s.service?.ports, [])
    assert.deepEqual(s.events.map((e) => [e.reason, e.count]), [['New', 3], ['V1', 2], ['Gone', 1], ['Old', 1]], 'the PDS\'s Warnings only (a replaced pod\'s too), newest first')
    assert.deepEqual(findProblems(s, t), [
      'Deployment pds: 0 of 1 replicas available',
      'pod pds-1 is Running but not Ready',
      'PVC pds-data is Unknown, not Bound',
    ])
    // An OOMKilled pod that is Ready still gets named, with the fix.
    s.pods[0].ready = true
    s.pvcs = []
    s.deployment!.replicas.available = 1
    assert.deepEqual(findProblems(s, t), ['pod pds-1 was OOMKilled (7 restarts): raise its memory limit'])
    assert.match(readFileSync(path.join(dir, 'argv'), 'utf8'), /^get deployments,pods,persistentvolumeclaims,services,events -o json --namespace p --request-timeout=30s$/m)
  })

  test('a kubectl that hangs is stopped at the deadline: one KubeError line', async () => {
    writeFileSync(path.join(dir, 'sleep'), '')
    try {
      const started = Date.now()
      await assert.rejects(kubectlOk('reading things', ['get', 'pods'], { kubectl }, 500), (err: unknown) => {
        assert.ok(err instanceof KubeError)
        assert.match(err.line, /^reading things failed: kubectl did not finish within 2.5 s\. Is the cluster reachable\?/)
        return true
      })
      assert.ok(Date.now() - started < 6000)
    } finally {
      rmSync(path.join(dir, 'sleep'))
    }
  })
})

