// `account migrate` across the two PDS lines: 0.4.x → 0.5.x (the real-world move from an
// older PDS) and 0.5.x → 0.4.x (0.4.217 accepts imports: importRepo is there and
// PDS_ACCEPTING_REPO_IMPORTS defaults to true), both directions of the command, and an
// invite code minted with the admin password on a 0.4.x PDS that requires one.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTwoPdses, type TwoPdses } from '../../bed/twoPds.js'
import { xrpc as adminXrpc } from '../../bed/pds.js'
import type { MigrationReport } from '../../../src/lib/migrate/report.js'
import { finish, json, migrationHome, observe, publicUrl, seedMigrant, type SeededMigrant } from './migrateSupport.js'

async function checkMoved(pair: TwoPdses, account: SeededMigrant, newPassword: string, newHandle: string) {
  const o = await observe(pair, account.did, { oldPassword: account.password, newPassword })
  assert.equal(o.doc.service[0].serviceEndpoint, publicUrl(pair.new))
  assert.deepEqual(o.doc.alsoKnownAs, [`at://${newHandle}`])
  assert.deepEqual(o.oldStatus, { did: account.did, active: false, status: 'deactivated' })
  assert.equal(o.newStatus.active, true)
  assert.equal(o.newCheck.repoCommit, o.oldCheck.repoCommit)
  assert.equal(o.newCheck.indexedRecords, account.records)
  assert.equal(o.newCheck.importedBlobs, account.blobs.length)
  assert.deepEqual(o.missing.blobs, [])
  assert.deepEqual(o.newPrefs, o.oldPrefs)
}

describe('pdsctl account migrate: 0.4.x → 0.5.x', () => {
  let pair: TwoPdses
  before(async () => {
    pair = await startTwoPdses({ from: '0.4', to: '0.5' })
  })
  after(() => pair.close())

  test('into the connected 0.5.x PDS from a 0.4.x one (--from)', async () => {
    const account = await seedMigrant(pair.old, 'older', { posts: 30 })
    const results = await finish(pair, account, { direction: 'in', home: migrationHome() }, ['--password-stdin', '--new-password-stdin', '--yes'], `${account.password}\nolder-new-pass-1\n`)
    const last = json<MigrationReport>(results.at(-1)!)
    assert.equal(last.status, 'done', results.map((r) => r.stderr).join('\n---\n'))
    assert.equal(results.length, 2, 'one run up to the token, one after')
    await checkMoved(pair, account, 'older-new-pass-1', 'older.new.test')
  })
})

describe('pdsctl account migrate: 0.5.x → 0.4.x (0.4 accepts imports)', () => {
  let pair: TwoPdses
  before(async () => {
    pair = await startTwoPdses({ from: '0.5', to: '0.4', newOptions: { inviteRequired: true } })
  })
  after(() => pair.close())

  test('out of the connected 0.5.x PDS to a 0.4.x one (--to) with the invite code its operator gave', async () => {
    const account = await seedMigrant(pair.old, 'newer')
    const code = (await adminXrpc(pair.new.url, 'com.atproto.server.createInviteCode', { useCount: 1 }, pair.new.adminPassword)).code as string
    const home = migrationHome()
    const run = { direction: 'out' as const, home }
    // Without a code: refused before anything is created (pdsctl holds no admin password of that PDS).
    const without = await finish(pair, account, run, ['--password-stdin', '--new-password-stdin', '--yes'], `${account.password}\nnewer-new-pass-1\n`)
    assert.equal(without.at(-1)!.code, 2, without.at(-1)!.stderr)
    assert.match(without.at(-1)!.stderr, /requires an invite code.*--invite-code/)
    assert.equal((await xrpc04(pair, 'com.atproto.sync.getRepoStatus', account.did)).status, 400, 'nothing created')

    const results = await finish(pair, account, run, ['--password-stdin', '--new-password-stdin', '--yes', '--invite-code', code], `${account.password}\nnewer-new-pass-1\n`)
    const last = json<MigrationReport>(results.at(-1)!)
    assert.equal(last.status, 'done', results.map((r) => r.stderr).join('\n---\n'))
    await checkMoved(pair, account, 'newer-new-pass-1', 'newer.new.test')
  })

  test('into the connected 0.4.x PDS (--from): the invite code it requires is minted with its admin password', async () => {
    const account = await seedMigrant(pair.old, 'minted', { posts: 3, sizes: [10_000, 2_000_000] })
    const results = await finish(pair, account, { direction: 'in', home: migrationHome() }, ['--password-stdin', '--new-password-stdin', '--yes'], `${account.password}\nminted-new-pass-1\n`)
    const last = json<MigrationReport>(results.at(-1)!)
    assert.equal(last.status, 'done', results.map((r) => r.stderr).join('\n---\n'))
    await checkMoved(pair, account, 'minted-new-pass-1', 'minted.new.test')
  })
})

async function xrpc04(pair: TwoPdses, nsid: string, did: string) {
  const res = await fetch(`${pair.new.url}/xrpc/${nsid}?did=${encodeURIComponent(did)}`)
  return { status: res.status, body: await res.json() }
}
