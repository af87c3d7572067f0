// runBackup as a library call (what `k8s upgrade --backup DIR` uses): a PdsClient, a folder,
// progress callbacks, and an abort signal that stops the run without a manifest.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { fillAccounts } from '../../commands/backup/fixtures.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { runBackup, type BackupProgress } from '../../../src/lib/backup/backup.js'
import { verifyBackup } from '../../../src/lib/backup/verify.js'

describe('runBackup (library)', () => {
  let bed: TestBed
  let client: PdsClient
  before(async () => {
    bed = await startTestBed()
    const accts = await bed.seed(3, 'lib')
    await fillAccounts(bed.url, accts, 3, 2)
    client = new PdsClient({ target: directTarget(bed.url), adminPassword: async () => bed.adminPassword })
  })
  after(async () => {
    await client.close()
    await bed.close()
  })

  test('backs up every account with progress, and the result verifies', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-lib-backup-'))
    const progress: BackupProgress[] = []
    const s = await runBackup(client, { dir, concurrency: 2, onProgress: (p) => progress.push(p), pdsctlVersion: 'test' })
    assert.equal(s.accounts, 3)
    assert.deepEqual(s.repos, { full: 3, incremental: 0, unchanged: 0 })
    assert.deepEqual(s.blobs, { fetched: 6, skipped: 0 })
    assert.deepEqual(s.errors, [])
    const last = progress[progress.length - 1]
    assert.equal(last.accountsDone, 3)
    assert.equal(last.blobsFetched, 6)
    assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1].bytes), 'bytes only grow')
    const report = await verifyBackup({ dir, plcUrl: bed.plcUrl })
    assert.equal(report.ok, true, JSON.stringify(report.problems))
    assert.equal(report.repos.signatureVerified, 3)
  })

  test('an aborted signal stops the run: it throws, and writes no manifest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-lib-abort-'))
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(runBackup(client, { dir, signal: ac.signal }), /interrupted/)
    assert.equal(existsSync(path.join(dir, 'manifest.json')), false)
  })
})
