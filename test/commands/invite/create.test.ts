import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { CreatedInvite } from '../../../src/lib/admin/invites.js'

describe('pdsctl invite create', () => {
  let bed: TestBed
  before(async () => {
    bed = await startTestBed({ inviteRequired: true })
  })
  after(() => bed.close())

  test('piped: one code per line, all from one createInviteCodes call; each code creates an account', async () => {
    const res = await runCli(['invite', 'create', '--count', '3', '--debug'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const codes = res.stdout.trimEnd().split('\n')
    assert.equal(codes.length, 3)
    assert.equal(new Set(codes).size, 3)
    assert.equal((res.stderr.match(/→ POST \/xrpc\/com\.atproto\.server\.createInviteCodes/g) ?? []).length, 1)
    for (const [i, code] of codes.entries()) {
      const acct = await xrpc(bed.url, 'com.atproto.server.createAccount', {
        handle: `inv${i}.test`, email: `inv${i}@example.com`, password: 'pw-123456', inviteCode: code,
      })
      assert.match(acct.did, /^did:plc:/)
    }
    // one use each: the first code is spent now
    await assert.rejects(
      xrpc(bed.url, 'com.atproto.server.createAccount', { handle: 'inv9.test', email: 'inv9@example.com', password: 'pw-123456', inviteCode: codes[0] }),
      /InvalidInviteCode/,
    )
  })

  test('--json: an array of {code, uses, forAccount}; --for resolves a handle through the PDS', async () => {
    const owner = await bed.createAccount('grace.test')
    const res = await runCli(['invite', 'create', '--count', '2', '--uses', '5', '--for', 'grace.test', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const invites = JSON.parse(res.stdout) as CreatedInvite[]
    assert.equal(invites.length, 2)
    for (const inv of invites) {
      assert.deepEqual(Object.keys(inv).sort(), ['code', 'forAccount', 'uses'])
      assert.equal(inv.uses, 5)
      assert.equal(inv.forAccount, owner.did)
    }
    const listed = await fetch(`${bed.url}/xrpc/com.atproto.admin.getInviteCodes?limit=100`, {
      headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
    }).then((r) => r.json() as Promise<{ codes: Array<{ code: string; forAccount: string; available: number }> }>)
    const mine = listed.codes.filter((c) => invites.some((i) => i.code === c.code))
    assert.equal(mine.length, 2)
    assert.ok(mine.every((c) => c.forAccount === owner.did && c.available === 5))
  })

  test('a terminal gets a table', async () => {
    const res = await runCli(['invite', 'create'], { env: bedEnv(bed, { PDSCTL_FORCE_TTY: '1' }) })
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^CODE\s+USES\s+FOR\n\S+\s+1\s+admin\n$/)
  })

  test('bad input is rejected before any request', async () => {
    const env = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }
    for (const args of [['--count', '0'], ['--uses', '-1'], ['--for', 'not a handle!'], ['--for', 'did:plc:']]) {
      const res = await runCli(['invite', 'create', ...args], { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr)
    }
  })

  test('--for an account that does not exist: exit 4', async () => {
    const res = await runCli(['invite', 'create', '--for', 'nobody.test'], { env: bedEnv(bed) })
    assert.equal(res.code, 4)
    assert.match(res.stderr, /no account with handle nobody\.test on this PDS/)
  })
})
