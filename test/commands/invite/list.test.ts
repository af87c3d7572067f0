import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { InviteSummary } from '../../../src/lib/admin/invites.js'
import type { InviteDisableResult } from '../../../src/commands/invite/disable.js'

describe('pdsctl invite list / invite disable', () => {
  let bed: TestBed
  let owner: SeededAccount
  let codes: string[]
  before(async () => {
    bed = await startTestBed({ inviteRequired: true })
    ;[owner] = await bed.seed(1, 'inviter')
    const made = await xrpc(bed.url, 'com.atproto.server.createInviteCodes', { codeCount: 5, useCount: 1 }, bed.adminPassword)
    codes = made.codes[0].codes
    await xrpc(bed.url, 'com.atproto.server.createInviteCodes', { codeCount: 2, useCount: 3, forAccounts: [owner.did] }, bed.adminPassword)
    await xrpc(bed.url, 'com.atproto.server.createAccount', { handle: 'usedone.test', email: 'usedone@example.com', password: 'pw-123456789', inviteCode: codes[0] })
  })
  after(() => bed.close())
  const list = async (...args: string[]) => {
    const res = await runCli(['invite', 'list', '--json', ...args], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    return JSON.parse(res.stdout) as InviteSummary[]
  }

  test('lists every code across pages (cursor), newest first, with filters', async () => {
    const all = await list('--page-size', '2')
    // 5 + 2 made here + 1 seeding the owner (the bed makes one per account when invites are required)
    assert.equal(all.length, 8)
    assert.equal(new Set(all.map((c) => c.code)).size, 8)
    assert.deepEqual([...all.map((c) => c.createdAt)].sort().reverse(), all.map((c) => c.createdAt))
    const used = await list('--used')
    assert.ok(used.some((c) => c.code === codes[0] && c.usedBy.length === 1))
    assert.ok(used.every((c) => c.used > 0))
    const available = await list('--available')
    assert.ok(!available.some((c) => c.code === codes[0]))
    const mine = await list('--for', owner.handle)
    assert.equal(mine.length, 2)
    assert.ok(mine.every((c) => c.forAccount === owner.did && c.available === 3))
    const conflict = await runCli(['invite', 'list', '--used', '--disabled'], { env: bedEnv(bed) })
    assert.equal(conflict.code, 2)
  })

  test('piped: tab-separated rows streamed, the count on stderr', async () => {
    const res = await runCli(['invite', 'list', '--available'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const first = res.stdout.split('\n')[0].split('\t')
    assert.equal(first.length, 7)
    assert.match(res.stderr, /^\d+ invite codes\n$/)
  })

  test('disable by code: needs --yes off a terminal; the disabled code no longer creates an account', async () => {
    const target = codes[1]
    const noYes = await runCli(['invite', 'disable', target], { env: bedEnv(bed) })
    assert.equal(noYes.code, 2)
    const res = await runCli(['invite', 'disable', target, '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout) as InviteDisableResult, { codes: [target], forAccount: null, dryRun: false })
    assert.ok((await list('--disabled')).some((c) => c.code === target))
    await assert.rejects(
      xrpc(bed.url, 'com.atproto.server.createAccount', { handle: 'blocked.test', email: 'blocked@example.com', password: 'pw-123456789', inviteCode: target }),
      /InvalidInviteCode/,
    )
  })

  test('disable from stdin; every code of an account is `account invites disable` (--for points there)', async () => {
    const res = await runCli(['invite', 'disable', '-', '--yes'], { env: bedEnv(bed), stdin: `${codes[2]}\n${codes[3]}\n` })
    assert.equal(res.code, 0, res.stderr)
    const disabled = new Set((await list('--disabled')).map((c) => c.code))
    assert.ok(disabled.has(codes[2]) && disabled.has(codes[3]))
    const moved = await runCli(['invite', 'disable', '--for', owner.handle, '--yes'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(moved.code, 2)
    assert.equal(moved.stderr, `Error: invite disable --for moved to account invites disable. Run pdsctl account invites disable ${owner.handle}: it disables the codes the account holds and stops new ones\n`)
    assert.ok((await list('--for', owner.did)).some((c) => !c.disabled), 'nothing was disabled by the pointer')
    const forRes = await runCli(['account', 'invites', 'disable', owner.handle], { env: bedEnv(bed) })
    assert.equal(forRes.code, 0, forRes.stderr)
    assert.ok((await list('--for', owner.did)).every((c) => c.disabled))
    const bad = await runCli(['invite', 'disable', 'no way!', '--yes'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(bad.code, 2)
    const none = await runCli(['invite', 'disable', '--yes'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(none.code, 2)
  })
})
