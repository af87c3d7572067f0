// The account admin verbs against the real PDS, each checked through the admin view (and
// what the account can still do) afterwards.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { AccountInfo, CreatedAccount, AccountActionResult, AccountUpdateResult, PasswordResetResult } from '../../../src/lib/admin/accountAdmin.js'
import type { BatchOutput } from '../../../src/base/account-command.js'

const login = (bed: TestBed, identifier: string, password: string) => xrpc(bed.url, 'com.atproto.server.createSession', { identifier, password })
const DOWN = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }

describe('account admin verbs', () => {
  let bed: TestBed
  let a: SeededAccount[]
  before(async () => {
    bed = await startTestBed({ inviteRequired: true })
    a = await bed.seed(9, 'adm')
  })
  after(() => bed.close())
  const info = async (ref: string) => {
    const res = await runCli(['account', 'info', ref, '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    return JSON.parse(res.stdout) as AccountInfo
  }

  test('info: the admin view, by handle and by DID', async () => {
    const i = await info(a[0].handle)
    assert.equal(i.did, a[0].did)
    assert.equal(i.email, a[0].email)
    assert.equal(i.takendown, false)
    assert.equal(i.repoStatus, 'active')
    assert.ok(i.invitedBy, 'seeded with an invite on this bed')
    assert.deepEqual(await info(a[0].did), i)
    const missing = await runCli(['account', 'info', 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'], { env: bedEnv(bed) })
    assert.equal(missing.code, 4)
  })

  test('create: makes a one-use invite, prints a generated password once, and the account can log in with it', async () => {
    const res = await runCli(['account', 'create', '--handle', 'fresh.test', '--email', 'fresh@example.com', '--json', '--debug'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const created = JSON.parse(res.stdout) as CreatedAccount
    assert.match(created.inviteCode ?? '', /\S/)
    assert.ok(created.password && created.password.length >= 20)
    assert.ok(!res.stderr.includes(created.password), 'not in debug output')
    assert.equal((await login(bed, 'fresh.test', created.password)).did, created.did)
    // --password-stdin: no password printed
    const own = await runCli(['account', 'create', '--handle', 'fresh2.test', '--email', 'fresh2@example.com', '--password-stdin', '--json'], { env: bedEnv(bed), stdin: 'my-own-password-1' })
    assert.equal(own.code, 0, own.stderr)
    assert.equal((JSON.parse(own.stdout) as CreatedAccount).password, undefined)
    assert.ok(!own.stdout.includes('my-own-password-1'))
    assert.ok((await login(bed, 'fresh2.test', 'my-own-password-1')).accessJwt)
  })

  test("create: pdsadmin's order, EMAIL HANDLE, as arguments; given twice or the other way round, an error before any request", async () => {
    const res = await runCli(['account', 'create', 'fresh3@example.com', 'fresh3.test', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const created = JSON.parse(res.stdout) as CreatedAccount
    assert.deepEqual([created.handle, created.email], ['fresh3.test', 'fresh3@example.com'])
    assert.equal((await login(bed, 'fresh3.test', created.password!)).did, created.did)
    // One as an argument, the other as a flag.
    const mixed = await runCli(['account', 'create', 'fresh4@example.com', '--handle', 'fresh4.test', '--json'], { env: bedEnv(bed) })
    assert.equal(mixed.code, 0, mixed.stderr)
    assert.equal((JSON.parse(mixed.stdout) as CreatedAccount).handle, 'fresh4.test')
    const bad: Array<[string[], RegExp]> = [
      [['okname.test', 'ok@example.com'], /^Error: "okname\.test" is not an email address, and the email comes first\. As with pdsadmin: pdsctl account create EMAIL HANDLE, or use --email and --handle\.\n$/],
      [['okname.test'], /the email comes first/],
      [['ok@example.com', 'okname.test', '--email', 'ok@example.com'], /^Error: the email is given twice, as an argument and as --email\. Give it once\.\n$/],
      [['ok@example.com', 'okname.test', '--handle', 'okname.test'], /the handle is given twice/],
      [['ok@example.com', 'not a handle'], /"not a handle" is not a valid handle/],
      [['ok@example.com', 'okname.test', 'third'], /Unexpected argument: third|unexpected argument/i],
    ]
    for (const [args, message] of bad) {
      const r = await runCli(['account', 'create', ...args], { env: DOWN })
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.ok(!/connection refused/i.test(r.stderr), r.stderr)
    }
  })

  test('create: taken and reserved handles, bad emails, handle length: clear errors', async () => {
    const taken = await runCli(['account', 'create', '--handle', a[0].handle, '--email', 'x1@example.com'], { env: bedEnv(bed) })
    assert.equal(taken.code, 2)
    assert.match(taken.stderr, /^Error: cannot create adm0\.test \(InvalidRequest: Handle already taken: adm0\.test\)/)
    const reserved = await runCli(['account', 'create', '--handle', 'admin.test', '--email', 'x2@example.com'], { env: bedEnv(bed) })
    assert.equal(reserved.code, 2)
    assert.match(reserved.stderr, /HandleNotAvailable: Reserved handle/)
    for (const args of [['--handle', 'ab.test', '--email', 'x@example.com'], ['--handle', 'waytoolonghandlename1.test', '--email', 'x@example.com']]) {
      const r = await runCli(['account', 'create', ...args], { env: bedEnv(bed) })
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /must be one label of 3 to 18 characters/)
    }
    const badEmail = await runCli(['account', 'create', '--handle', 'okname.test', '--email', 'not-an-email'], { env: DOWN })
    assert.equal(badEmail.code, 2)
    assert.match(badEmail.stderr, /not a valid email address/)
    // An email holding an escape sequence or a bidi override is refused before any request
    // (DOWN: a request would fail with exit 1, not 2), by flag, argument or update alike, and
    // the line that names it shows no raw control character.
    for (const args of [
      ['account', 'create', '--handle', 'okname.test', '--email', 'ok\u001b]52;c;aGk=\u0007@example.com'],
      ['account', 'create', 'ok\u001b[2J@example.com', 'okname.test'],
      ['account', 'update', 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', '--email', 'ok\u202e@example.com'],
      ['email', 'test', '--to', 'ok\u001b[31m@example.com'],
    ]) {
      const r = await runCli([...args, '--json'], { env: DOWN })
      assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`)
      assert.match(JSON.parse(r.stdout).error.message, /is not a valid email address: it holds a control or invisible character/)
      const text = await runCli(args, { env: DOWN })
      assert.equal(text.code, 2, text.stderr)
      assert.match(text.stderr, /^Error: .*not a valid email address: it holds a control or invisible character/)
      assert.doesNotMatch(text.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/, 'a raw control character reached stderr')
    }
    // Piped, nothing is asked: the missing flags are named with the command to run, before any network call.
    const missing = await runCli(['account', 'create'], { env: DOWN })
    assert.equal(missing.code, 2)
    assert.equal(missing.stderr, 'Error: missing --handle and --email. Fix: pdsctl account create --handle alice.pds.example.com --email alice@example.com\n')
    const half = await runCli(['account', 'create', '--handle', 'okname.test', '--json'], { env: DOWN })
    assert.equal(half.code, 2)
    assert.equal(JSON.parse(half.stdout).error.message, 'missing --email. Fix: pdsctl account create --handle okname.test --email alice@example.com')
  })

  test('takedown / untakedown: really taken down (admin view, login refused), then back', async () => {
    const t = a[1]
    const noYes = await runCli(['account', 'takedown', t.handle], { env: bedEnv(bed) })
    assert.equal(noYes.code, 2)
    assert.match(noYes.stderr, /--yes is required/)
    assert.equal((await info(t.handle)).takendown, false, 'nothing changed without --yes')
    const dry = await runCli(['account', 'takedown', t.handle, '--dry-run', '--json'], { env: bedEnv(bed) })
    assert.equal((JSON.parse(dry.stdout) as AccountActionResult).dryRun, true)
    assert.equal((await info(t.handle)).takendown, false, 'nothing changed with --dry-run')

    const res = await runCli(['account', 'takedown', t.handle, '--ref', 'ticket-7', '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), { did: t.did, handle: t.handle, action: 'takedown', dryRun: false })
    const down = await info(t.handle)
    assert.equal(down.takendown, true)
    assert.equal(down.takedownRef, 'ticket-7')
    assert.equal(down.repoStatus, 'takendown')
    await assert.rejects(login(bed, t.handle, t.password), /AccountTakedown/)

    assert.equal((await runCli(['account', 'untakedown', t.handle, '--yes'], { env: bedEnv(bed) })).code, 0)
    assert.equal((await info(t.did)).takendown, false)
    assert.ok((await login(bed, t.handle, t.password)).accessJwt)
  })

  test('deactivate / activate (admin deactivation)', async () => {
    const t = a[2]
    assert.equal((await runCli(['account', 'deactivate', t.handle, '--yes'], { env: bedEnv(bed) })).code, 0)
    const off = await info(t.handle)
    assert.match(off.deactivatedAt ?? '', /^\d{4}-/)
    assert.equal(off.repoStatus, 'deactivated')
    assert.equal((await runCli(['account', 'activate', t.handle, '--yes'], { env: bedEnv(bed) })).code, 0)
    const on = await info(t.handle)
    assert.equal(on.deactivatedAt, null)
    assert.equal(on.repoStatus, 'active')
  })

  test('reset-password: generated and shown once; the new one works, the old one does not', async () => {
    const t = a[3]
    const res = await runCli(['account', 'reset-password', t.handle, '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const out = JSON.parse(res.stdout) as PasswordResetResult
    assert.ok(out.password)
    await assert.rejects(login(bed, t.handle, t.password), /Invalid identifier or password/)
    assert.ok((await login(bed, t.handle, out.password)).accessJwt)
    const given = await runCli(['account', 'reset-password', t.handle, '--password-stdin', '--yes'], { env: bedEnv(bed), stdin: 'chosen-password-9' })
    assert.equal(given.code, 0, given.stderr)
    assert.ok(!given.stdout.includes('chosen-password-9'))
    assert.ok((await login(bed, t.handle, 'chosen-password-9')).accessJwt)
    // Many from stdin: a generated password each, in the batch result.
    const batch = await runCli(['account', 'reset-password', '-', '--yes', '--json'], { env: bedEnv(bed), stdin: `${t.handle}\n${a[0].handle}\n` })
    assert.equal(batch.code, 0, batch.stderr)
    const results = (JSON.parse(batch.stdout) as BatchOutput<PasswordResetResult>).results
    assert.equal(results.length, 2)
    assert.notEqual(results[0].result?.password, results[1].result?.password)
    assert.ok((await login(bed, a[0].handle, results[1].result!.password!)).accessJwt)
    a[0].password = results[1].result!.password!
  })

  test('update: new handle resolves, new email is unconfirmed with a warning; a reserved handle is allowed to the admin', async () => {
    const t = a[4]
    const res = await runCli(['account', 'update', t.handle, '--handle', 'renamed.test', '--email', 'renamed@example.com', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const out = JSON.parse(res.stdout) as AccountUpdateResult
    assert.deepEqual(out.changed, ['handle', 'email'])
    assert.equal(out.emailNeedsConfirmation, true)
    assert.match(res.stderr, /Warning: the new email renamed@example\.com is unconfirmed/)
    const resolved = await fetch(`${bed.url}/xrpc/com.atproto.identity.resolveHandle?handle=renamed.test`).then((r) => r.json() as Promise<{ did: string }>)
    assert.equal(resolved.did, t.did)
    const i = await info('renamed.test')
    assert.equal(i.email, 'renamed@example.com')
    assert.equal(i.emailConfirmedAt, null)
    const reserved = await runCli(['account', 'update', t.did, '--handle', 'support.test'], { env: bedEnv(bed) })
    assert.equal(reserved.code, 0, reserved.stderr)
    assert.equal((await info(t.did)).handle, 'support.test')
    const nothing = await runCli(['account', 'update', t.did], { env: DOWN })
    assert.equal(nothing.code, 2)
  })

  test('invites disable / enable for an account', async () => {
    const t = a[5]
    // Codes it already holds stop working too (disableAccountInvites alone leaves them usable).
    const held = await xrpc(bed.url, 'com.atproto.server.createInviteCodes', { codeCount: 2, useCount: 1, forAccounts: [t.did] }, bed.adminPassword)
    const kept = await xrpc(bed.url, 'com.atproto.server.createInviteCodes', { codeCount: 1, useCount: 1, forAccounts: [a[4].did] }, bed.adminPassword)
    const disable = await runCli(['account', 'invites', 'disable', t.handle, '--json'], { env: bedEnv(bed) })
    assert.equal(disable.code, 0, disable.stderr)
    assert.deepEqual(JSON.parse(disable.stdout), { did: t.did, handle: t.handle, action: 'invites-disabled', dryRun: false, codesDisabled: true })
    assert.equal((await info(t.handle)).invitesDisabled, true)
    const codes = (await info(t.handle)).invites
    assert.equal(codes.length, 2)
    assert.ok(codes.every((c) => c.disabled), JSON.stringify(codes))
    await assert.rejects(
      xrpc(bed.url, 'com.atproto.server.createAccount', { handle: 'viaheld.test', email: 'viaheld@example.com', password: 'pw-123456789', inviteCode: held.codes[0].codes[0] }),
      /InvalidInviteCode/,
    )
    // --keep-codes: only new codes are stopped.
    const keep = await runCli(['account', 'invites', 'disable', a[4].did, '--keep-codes', '--json'], { env: bedEnv(bed) })
    assert.equal(keep.code, 0, keep.stderr)
    assert.equal(JSON.parse(keep.stdout).codesDisabled, false)
    assert.ok((await info(a[4].did)).invites.some((c) => c.code === kept.codes[0].codes[0] && !c.disabled))
    assert.equal((await runCli(['account', 'invites', 'enable', t.handle], { env: bedEnv(bed) })).code, 0)
    assert.equal((await info(t.handle)).invitesDisabled, false)
  })

  test('delete: asks or needs --yes; afterwards the account is gone', async () => {
    const t = a[6]
    assert.equal((await runCli(['account', 'delete', t.handle], { env: bedEnv(bed) })).code, 2)
    assert.equal((await info(t.handle)).did, t.did)
    const res = await runCli(['account', 'delete', t.handle, '--yes'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stderr, /Deleted adm6\.test/)
    const gone = await runCli(['account', 'info', t.did], { env: bedEnv(bed) })
    assert.equal(gone.code, 4)
  })

  test('"-": many accounts from stdin; one bad line does not stop the rest; exit 5 and a summary', async () => {
    const stdin = `# spammers\n${a[7].handle}\n\nnot a handle!\n${a[8].did}\nghost.test\n`
    const noYes = await runCli(['account', 'takedown', '-'], { env: bedEnv(bed), stdin })
    assert.equal(noYes.code, 2, 'destructive batch needs --yes')
    const res = await runCli(['account', 'takedown', '-', '--yes', '--json'], { env: bedEnv(bed), stdin })
    assert.equal(res.code, 5, res.stderr)
    const out = JSON.parse(res.stdout) as BatchOutput<AccountActionResult>
    assert.equal(out.ok, 2)
    assert.equal(out.failed, 2)
    assert.deepEqual(out.results.map((r) => [r.input, r.ok]), [[a[7].handle, true], ['not a handle!', false], [a[8].did, true], ['ghost.test', false]])
    assert.match(res.stderr, /^2 ok, 2 failed$/m)
    assert.equal((await info(a[7].did)).takendown, true)
    assert.equal((await info(a[8].did)).takendown, true)
    const piped = await runCli(['account', 'untakedown', '-', '--yes'], { env: bedEnv(bed), stdin: `${a[7].did}\n${a[8].did}\n` })
    assert.equal(piped.code, 0, piped.stderr)
    assert.equal(piped.stdout.trimEnd().split('\n').length, 2)
    assert.match(piped.stdout, /^did:plc:\S+\tok\t/m)
  })

  test('malformed input is rejected before any request, for every verb', async () => {
    for (const verb of [['info'], ['delete', '--yes'], ['takedown', '--yes'], ['untakedown', '--yes'], ['deactivate', '--yes'], ['activate', '--yes'], ['reset-password', '--yes'], ['update', '--email', 'x@example.com'], ['invites', 'enable'], ['invites', 'disable']]) {
      const [first, ...rest] = verb
      const args = first === 'invites' ? ['account', 'invites', rest[0], 'bad handle!'] : ['account', first, 'did:plc:', ...rest]
      const res = await runCli(args, { env: DOWN })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.ok(!/connection refused/.test(res.stderr))
    }
  })
})
