// `account migrate` into a PDS with its rate limits on (what the installer sets since early
// 2026): uploadBlob takes 1,000 uploads a day per address. With the day's quota nearly
// spent (by another account's uploads from the same address), the migration copies what it
// may, says how many blobs remain and when the PDS takes more, and leaves the old account
// untouched; with PDS_RATE_LIMIT_BYPASS_KEY it goes on (the key goes to the connected PDS only).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startLyingServer, type LyingServer } from '../../bed/lying.js'
import { startTwoPdses, type TwoPdses } from '../../bed/twoPds.js'
import type { MigrationReport } from '../../../src/lib/migrate/report.js'
import { blobBytes, finish, json, login, migrate, migrationHome, observe, plcDoc, seedMigrant, xrpc } from './migrateSupport.js'

const BYPASS = 'bypass-' + 'k'.repeat(24)

describe('pdsctl account migrate: a rate-limited new PDS', () => {
  let pair: TwoPdses
  // In front of the old PDS: every request it gets is kept, headers included.
  let oldFront: LyingServer
  before(async () => {
    pair = await startTwoPdses({ newOptions: { rateLimitBypassKey: BYPASS } })
    oldFront = await startLyingServer({ upstream: pair.old.url })
  })
  after(async () => {
    await oldFront.close()
    await pair.close()
  })

  test('paused with what remains and when to continue; then the bypass key finishes it', async () => {
    const account = await seedMigrant(pair.old, 'limited', { posts: 4, sizes: [3_000, 4_000, 5_000, 6_000, 7_000] })
    // Spend the address's uploads but 2 (1,000 a day) with another account on the new PDS.
    const filler = await pair.new.createAccount('filler.new.test')
    const jwt = await login(pair.new.url, filler.did, filler.password)
    const png = blobBytes(200)
    let left = Infinity
    while (left > 2) {
      const batch = await Promise.all(Array.from({ length: Math.min(8, left - 2 === Infinity ? 8 : left - 2) }, () => xrpc(pair.new.url, 'com.atproto.repo.uploadBlob', { raw: png, type: 'image/png', bearer: jwt })))
      for (const r of batch) assert.equal(r.status, 200, JSON.stringify(r.body))
      left = Math.min(...batch.map((r) => Number(r.headers.get('ratelimit-remaining'))))
    }
    assert.equal(left, 2)

    const home = migrationHome()
    const run = { direction: 'in' as const, home, oldUrl: oldFront.url }
    const args = ['--password-stdin', '--new-password-stdin', '--yes']
    const stdin = `${account.password}\nlimited-new-pass-1\n`
    const docBefore = await plcDoc(pair, account.did)
    const paused = await migrate(pair, account.did, run, [...args, '--json'], { stdin })
    assert.equal(paused.code, 1, paused.stderr)
    const line = paused.stderr.split('\n').find((l) => l.startsWith('Error:')) ?? ''
    assert.match(line, /paused by the new PDS's rate limit after 2 blobs: 3 remain/)
    assert.match(line, /It takes more after \d{4}-\d\d-\d\dT[\d:.]+Z: run the same command again then \(pdsctl account migrate did:plc:\S+ --from .*\), or set PDS_RATE_LIMIT_BYPASS_KEY/)
    assert.match(paused.stderr, /the new PDS allows \d+ more uploads from this address/)
    const report = json<MigrationReport>(paused)
    assert.equal(report.status, 'rate-limited')
    assert.equal(report.counts.blobs.missing, 3)
    assert.equal(report.counts.blobs.copied, 2)
    assert.deepEqual(await plcDoc(pair, account.did), docBefore)
    assert.equal((await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did: account.did } })).body.active, true)

    // The status, without a password, counts the same.
    const status = json<MigrationReport>(await migrate(pair, account.did, run, ['--status', '--json']))
    assert.equal(status.counts.blobs.missing, 3)
    assert.equal(status.steps.find((s) => s.id === 'blobs')?.state, 'todo')

    // With the bypass key (from the environment, as the PDS reads it), the same command goes on.
    const results = await finish(pair, account, run, args, stdin, { PDS_RATE_LIMIT_BYPASS_KEY: BYPASS })
    const last = json<MigrationReport>(results.at(-1)!)
    assert.equal(last.status, 'done', results.map((r) => r.stderr).join('\n---\n'))
    const o = await observe(pair, account.did, { oldPassword: account.password, newPassword: 'limited-new-pass-1' })
    assert.equal(o.newCheck.importedBlobs, account.blobs.length)
    assert.deepEqual(o.missing.blobs, [])
    assert.deepEqual(o.oldStatus.active, false)
    // The key and the admin password went to the connected (new) PDS only, never to the old one.
    assert.ok(oldFront.requests.length > 10)
    for (const r of oldFront.requests) {
      assert.equal(r.headers['x-ratelimit-bypass'], undefined, r.path)
      assert.ok(!String(r.headers.authorization ?? '').startsWith('Basic'), r.path)
    }
    for (const r of results) assert.ok(!r.stdout.includes(BYPASS) && !r.stderr.includes(BYPASS))
  })
})
