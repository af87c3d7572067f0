import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type SeededAccount, type TestBed } from '../bed/pds.js'
import { bedEnv, runCli } from '../helpers/cli.js'

describe('pdsctl xrpc', () => {
  let bed: TestBed
  let gus: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[gus] = await bed.seed(1, 'gus')
  })
  after(() => bed.close())

  test('a query with key=value params and admin auth', async () => {
    const res = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', `did=${gus.did}`], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(JSON.parse(res.stdout).email, gus.email)
  })

  test('a procedure (found in the lexicons) with a JSON body from stdin; its effect is real', async () => {
    const res = await runCli(['xrpc', 'com.atproto.admin.updateAccountEmail', '--input', '-'], {
      env: bedEnv(bed),
      stdin: JSON.stringify({ account: gus.did, email: 'gus-new@example.com' }),
    })
    assert.equal(res.code, 0, res.stderr)
    const after = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', `did=${gus.did}`], { env: bedEnv(bed) })
    assert.equal(JSON.parse(after.stdout).email, 'gus-new@example.com')
    // key=value pairs become the JSON body of a procedure
    const kv = await runCli(['xrpc', 'com.atproto.server.createInviteCode', 'useCount=2'], { env: bedEnv(bed) })
    assert.equal(kv.code, 0, kv.stderr)
    assert.match(JSON.parse(kv.stdout).code, /\S/)
  })

  test('--no-auth sends no credential; errors carry the XRPC name and message', async () => {
    const res = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', `did=${gus.did}`, '--no-auth'], { env: bedEnv(bed) })
    assert.equal(res.code, 3, res.stderr)
    assert.match(res.stderr, /^Error: com\.atproto\.admin\.getAccountInfo failed \((AuthMissing|AuthenticationRequired)/)
    const bad = await runCli(['xrpc', 'not an nsid'], { env: bedEnv(bed) })
    assert.equal(bad.code, 2)
    const pair = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', 'noequals'], { env: bedEnv(bed) })
    assert.equal(pair.code, 2)
  })
})
