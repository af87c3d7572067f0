import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { EmailConfirmResult } from '../../../src/commands/email/confirm.js'
import type { EmailStatus } from '../../../src/lib/admin/email.js'

const CODE_RE = /[A-Z0-9]{5}-[A-Z0-9]{5}/

describe('pdsctl email confirm', () => {
  let bed: TestBed
  let alice: SeededAccount
  let bob: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[alice, bob] = await bed.seed(2, 'mailer')
  })
  after(() => bed.close())

  test('the whole flow in two steps, with the code read from the caught mail', async () => {
    const since = bed.mail.messages.length
    // Step 1: not a terminal, no --token: sends the mail, exits 0, says how to finish.
    const first = await runCli(['email', 'confirm', alice.handle, '--password-stdin', '--json'], {
      env: { PDS_URL: bed.url },
      stdin: alice.password + '\n',
    })
    assert.equal(first.code, 0, first.stderr)
    const sent = JSON.parse(first.stdout) as EmailConfirmResult
    assert.deepEqual(sent, { did: alice.did, handle: alice.handle, email: alice.email, status: 'sent', emailConfirmed: false })
    assert.match(first.stderr, /Sent a confirmation code to mailer0@example\.com/)
    assert.match(first.stderr, /finish with: pdsctl email confirm mailer0\.test --token CODE --password-stdin/)
    assert.ok(!first.stderr.includes(alice.password) && !first.stdout.includes(alice.password))

    const mail = await bed.mail.waitFor(alice.email, { since })
    const code = CODE_RE.exec(mail.text)?.[0]
    assert.ok(code, 'a code in the mail')

    // Step 2: --token only confirms.
    const second = await runCli(['email', 'confirm', alice.did, '--password-stdin', '--token', code.toLowerCase(), '--json'], {
      env: { PDS_URL: bed.url },
      stdin: alice.password,
    })
    assert.equal(second.code, 0, second.stderr)
    assert.equal((JSON.parse(second.stdout) as EmailConfirmResult).status, 'confirmed')
    assert.equal(bed.mail.messages.slice(since).filter((m) => m.to.includes(alice.email)).length, 1, 'no second mail')

    // The admin view agrees.
    const status = await runCli(['email', 'status', alice.handle, '--json'], { env: bedEnv(bed) })
    assert.equal(status.code, 0, status.stderr)
    const st = JSON.parse(status.stdout) as EmailStatus
    assert.equal(st.emailConfirmed, true)
    assert.ok(Date.now() - Date.parse(st.emailConfirmedAt ?? '') < 60_000)

    // And once confirmed there is nothing more to do.
    const again = await runCli(['email', 'confirm', alice.handle, '--password-stdin', '--json'], { env: { PDS_URL: bed.url }, stdin: alice.password })
    assert.equal(again.code, 0, again.stderr)
    assert.equal((JSON.parse(again.stdout) as EmailConfirmResult).status, 'already-confirmed')
  })

  test("a wrong account password: exit 3, the password is not echoed", async () => {
    const res = await runCli(['email', 'confirm', bob.handle, '--password-stdin'], { env: { PDS_URL: bed.url }, stdin: 'wrong-password-123' })
    assert.equal(res.code, 3)
    assert.match(res.stderr, /^Error: the PDS rejected the password for mailer1\.test \(AuthenticationRequired: Invalid identifier or password\)/)
    assert.ok(!res.stderr.includes('wrong-password-123'))
  })

  test('a wrong code: exit 3 with the XRPC error and how to get a new code', async () => {
    const res = await runCli(['email', 'confirm', bob.handle, '--password-stdin', '--token', 'AAAAA-BBBBB'], { env: { PDS_URL: bed.url }, stdin: bob.password })
    assert.equal(res.code, 3)
    assert.match(res.stderr, /the PDS rejected the confirmation code \(InvalidToken/)
  })

  test('not on a terminal and no --password-stdin: exit 2 naming the flag, nothing sent', async () => {
    const res = await runCli(['email', 'confirm', bob.handle], { env: { PDS_URL: 'http://127.0.0.1:9' } })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /--password-stdin/)
  })

  test('a malformed code, handle or DID is rejected before any request', async () => {
    const env = { PDS_URL: 'http://127.0.0.1:9' }
    for (const args of [[bob.handle, '--token', 'nope'], ['bad handle!'], ['did:plc:'], ['did:nope']]) {
      const res = await runCli(['email', 'confirm', ...args, '--password-stdin'], { env, stdin: 'x' })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    }
  })

  test('an account that does not exist: exit 4', async () => {
    const res = await runCli(['email', 'confirm', 'ghost.test', '--password-stdin'], { env: { PDS_URL: bed.url }, stdin: 'x' })
    assert.equal(res.code, 4)
    assert.match(res.stderr, /no account with handle ghost\.test/)
  })

  test('--help says no admin call can confirm an email, and the alternatives', async () => {
    const res = await runCli(['email', 'confirm', '--help'])
    assert.equal(res.code, 0)
    assert.match(res.stdout, /No admin call can mark an email confirmed/)
    assert.match(res.stdout, /disableChunkedEncoding/)
  })
})

describe('pdsctl email status', () => {
  let bed: TestBed
  let carol: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[carol] = await bed.seed(1, 'carol')
  })
  after(() => bed.close())

  test('shows email and that it is not confirmed, by handle and by DID', async () => {
    for (const ref of [carol.handle, carol.did, '@' + carol.handle.toUpperCase()]) {
      const res = await runCli(['email', 'status', ref, '--json'], { env: bedEnv(bed) })
      assert.equal(res.code, 0, res.stderr)
      assert.deepEqual(JSON.parse(res.stdout), { did: carol.did, handle: carol.handle, email: carol.email, emailConfirmed: false, emailConfirmedAt: null })
    }
  })

  test('a DID the PDS does not host: exit 4', async () => {
    const res = await runCli(['email', 'status', 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'], { env: bedEnv(bed) })
    assert.equal(res.code, 4, res.stderr)
    assert.match(res.stderr, /no account did:plc:aaaaaaaaaaaaaaaaaaaaaaaa on this PDS/)
  })

  test('malformed input: exit 2 before any request; a missing argument too', async () => {
    const env = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }
    for (const args of [['not_a_handle'], ['did:web:'], []]) {
      const res = await runCli(['email', 'status', ...args], { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr)
    }
  })
})
