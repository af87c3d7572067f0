// `pdsctl invite tree` on the real test bed: who invited whom from real sign-ups with
// codes, the tree's shape (roots, the admin pool, a subtree), and --disable on a subtree
// verified through getAccountInfo (invitesDisabled) and getInviteCodes (disabled).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import { runPty } from '../../helpers/pty.js'
import { adminCode, adminView, allCodes, confirmEmail, giveCodes, signUp, takedown } from '../../lib/admin/triageBed.js'
import type { InviteDisableReport, InviteTree, InviteTreeNode } from '../../../src/lib/admin/inviteTree.js'

describe('pdsctl invite tree', () => {
  let bed: TestBed
  const a: Record<string, SeededAccount> = {}
  const code: Record<string, string> = {}
  let bobSpare: string
  let danSpare: string
  let aliceSpare: string
  before(async () => {
    // Invites not required, so alice and hal can sign up without a code (a root, and an
    // account outside the tree); every other account uses a code, and the PDS records it.
    bed = await startTestBed()
    a.alice = await bed.createAccount('alice.test')
    a.hal = await bed.createAccount('hal.test')
    ;[code.bob, code.carol, aliceSpare] = await giveCodes(bed, a.alice.did, 3)
    a.bob = await signUp(bed, 'bob', code.bob)
    a.carol = await signUp(bed, 'carol', code.carol)
    await confirmEmail(bed, a.carol)
    const [bobs] = await giveCodes(bed, a.bob.did, 1, 2)
    code.dan = code.erin = bobs
    a.dan = await signUp(bed, 'dan', bobs)
    a.erin = await signUp(bed, 'erin', bobs)
    await takedown(bed, a.erin.did)
    code.frank = await adminCode(bed)
    a.frank = await signUp(bed, 'frank', code.frank)
    ;[code.gus] = await giveCodes(bed, a.frank.did, 1)
    a.gus = await signUp(bed, 'gus', code.gus)
    ;[bobSpare] = await giveCodes(bed, a.bob.did, 1)
    ;[danSpare] = await giveCodes(bed, a.dan.did, 1)
  })
  after(() => bed?.close())

  const node = (n: string, children: InviteTreeNode[] = [], extra: Partial<InviteTreeNode> = {}): InviteTreeNode => ({
    did: a[n].did,
    handle: a[n].handle,
    status: 'active',
    emailConfirmed: false,
    ...(code[n] ? { code: code[n] } : {}),
    children,
    ...extra,
  })

  test('--json: the whole tree, accounts without an inviter as roots, the admin pool apart', async () => {
    const res = await runCli(['invite', 'tree', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const tree = JSON.parse(res.stdout) as InviteTree
    const { code: _none, ...alice } = node('alice', [
      node('bob', [node('dan'), node('erin', [], { status: 'takendown' })]),
      node('carol', [], { emailConfirmed: true }),
    ])
    assert.deepEqual(tree, { roots: [alice], admin: [node('frank', [node('gus')])] })
    assert.ok(!res.stdout.includes(a.hal.did), 'an account outside every invite relation is not in the tree')
  })

  test('ACCOUNT: only that subtree', async () => {
    const res = await runCli(['invite', 'tree', a.bob.handle, '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), { roots: [node('bob', [node('dan'), node('erin', [], { status: 'takendown' })])], admin: [] })
    const leaf = await runCli(['invite', 'tree', a.hal.did, '--json'], { env: bedEnv(bed) })
    assert.equal(leaf.code, 0, leaf.stderr)
    assert.deepEqual(JSON.parse(leaf.stdout), { roots: [{ did: a.hal.did, handle: a.hal.handle, status: 'active', emailConfirmed: false, children: [] }], admin: [] })
  })

  test('a terminal gets an indented tree with status and confirmation', async () => {
    const res = await runCli(['invite', 'tree'], { env: bedEnv(bed, { PDSCTL_FORCE_TTY: '1' }) })
    assert.equal(res.code, 0, res.stderr)
    const lines = res.stdout.trimEnd().split('\n')
    assert.deepEqual(
      lines.map((l) => l.replace(/ {2}did:\S+/, '').replace(/ {2}\[[^\]]+\]$/, '')),
      [
        'alice.test  active  email unconfirmed',
        '├─ bob.test  active  email unconfirmed',
        '│  ├─ dan.test  active  email unconfirmed',
        '│  └─ erin.test  takendown  email unconfirmed',
        '└─ carol.test  active  email confirmed',
        "(admin: codes from the admin's own pool)",
        '└─ frank.test  active  email unconfirmed',
        '   └─ gus.test  active  email unconfirmed',
      ],
    )
    assert.ok(lines[1].endsWith(`[${code.bob}]`))
    assert.match(res.stderr, /^7 accounts in the tree\n$/)
  })

  test('piped: one tab-separated row per account, parent before children', async () => {
    const res = await runCli(['invite', 'tree', a.alice.handle], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(res.stdout.trimEnd().split('\n').map((l) => l.split('\t')), [
      ['0', a.alice.did, 'alice.test', 'active', 'false', '', ''],
      ['1', a.bob.did, 'bob.test', 'active', 'false', a.alice.did, code.bob],
      ['2', a.dan.did, 'dan.test', 'active', 'false', a.bob.did, code.dan],
      ['2', a.erin.did, 'erin.test', 'takendown', 'false', a.bob.did, code.erin],
      ['1', a.carol.did, 'carol.test', 'active', 'true', a.alice.did, code.carol],
    ])
  })

  test('bad input: --disable without ACCOUNT, a malformed or unknown account', async () => {
    const noAcct = await runCli(['invite', 'tree', '--disable', '--yes'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(noAcct.code, 2)
    assert.match(noAcct.stderr, /^Error: --disable needs an ACCOUNT/)
    const bad = await runCli(['invite', 'tree', 'not a handle'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(bad.code, 2)
    const unknown = await runCli(['invite', 'tree', 'nobody.test'], { env: bedEnv(bed) })
    assert.equal(unknown.code, 4, unknown.stderr)
    const unknownDid = await runCli(['invite', 'tree', 'did:plc:zzzzzzzzzzzzzzzzzzzzzzzz'], { env: bedEnv(bed) })
    assert.equal(unknownDid.code, 4, unknownDid.stderr)
    assert.match(unknownDid.stderr, /^Error: no account did:plc:z+ on this PDS/)
    const auth = await runCli(['invite', 'tree', '--json'], { env: bedEnv(bed, { PDS_ADMIN_PASSWORD: 'wrong-password-xyz' }) })
    assert.equal(auth.code, 3)
    assert.equal(JSON.parse(auth.stdout).error.exitCode, 3)
    assert.equal(auth.stderr.trimEnd().split('\n').length, 1, auth.stderr)
  })

  test('--disable: dry run changes nothing, no --yes refuses, --yes disables the subtree and the PDS confirms it', async () => {
    const codeDisabled = async (c: string) => (await allCodes(bed)).find((x) => x.code === c)?.disabled
    const unchanged = async () => {
      for (const n of ['bob', 'dan', 'erin']) assert.equal((await adminView(bed, a[n].did)).invitesDisabled, false, n)
      assert.equal(await codeDisabled(bobSpare), false)
      assert.equal(await codeDisabled(danSpare), false)
    }

    const dry = await runCli(['invite', 'tree', a.bob.handle, '--disable', '--dry-run', '--json'], { env: bedEnv(bed) })
    assert.equal(dry.code, 0, dry.stderr)
    const plan = JSON.parse(dry.stdout) as InviteDisableReport
    assert.equal(plan.dryRun, true)
    assert.deepEqual(plan.accounts.map((x) => x.handle).sort(), ['bob.test', 'dan.test', 'erin.test'])
    assert.ok(plan.accounts.every((x) => !x.alreadyDisabled && !x.invitesDisabled))
    // Only codes with uses left: bob's used-up code (dan and erin) is not in the plan.
    assert.deepEqual(plan.codes.map((c) => c.code).sort(), [bobSpare, danSpare].sort())
    assert.match(dry.stderr, /Dry run: would disable invites for 3 of 3 accounts and 2 unused codes; nothing changed/)
    await unchanged()

    const refused = await runCli(['invite', 'tree', a.bob.handle, '--disable'], { env: bedEnv(bed) })
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /--yes is required when not running interactively/)
    await unchanged()

    const res = await runCli(['invite', 'tree', a.bob.handle, '--disable', '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as InviteDisableReport
    assert.equal(report.ok, true)
    assert.equal(report.account, a.bob.did)
    assert.ok(report.accounts.every((x) => x.invitesDisabled && !x.alreadyDisabled))
    assert.ok(report.codes.every((c) => c.disabled))
    assert.match(res.stderr, /Disabled invites for 3 accounts \(0 already were\) and 2 unused codes; confirmed by the PDS/)

    // Through the PDS's own views: the subtree is disabled, the rest is not.
    for (const n of ['bob', 'dan', 'erin']) assert.equal((await adminView(bed, a[n].did)).invitesDisabled, true, n)
    for (const n of ['alice', 'carol', 'frank']) assert.equal((await adminView(bed, a[n].did)).invitesDisabled, false, n)
    assert.equal(await codeDisabled(bobSpare), true)
    assert.equal(await codeDisabled(danSpare), true)
    assert.equal(await codeDisabled(aliceSpare), false)
    assert.equal(await codeDisabled(code.dan), false, 'a used-up code is left alone')

    // Again: nothing left to do, still confirmed.
    const again = await runCli(['invite', 'tree', a.bob.did, '--disable', '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(again.code, 0, again.stderr)
    const second = JSON.parse(again.stdout) as InviteDisableReport
    assert.ok(second.accounts.every((x) => x.alreadyDisabled && x.invitesDisabled))
    assert.deepEqual(second.codes, [])
  })

  test('on a terminal --disable asks first: "no" changes nothing, "yes" disables', async () => {
    const no = runPty(['invite', 'tree', a.frank.handle, '--disable'], bedEnv(bed))
    await no.waitFor(/Disable invites for 2 accounts \(frank\.test's subtree\)\?/)
    no.write('n\r')
    assert.notEqual(await no.exited, 0)
    assert.equal((await adminView(bed, a.frank.did)).invitesDisabled, false)
    assert.equal((await adminView(bed, a.gus.did)).invitesDisabled, false)

    const yes = runPty(['invite', 'tree', a.frank.handle, '--disable'], bedEnv(bed))
    await yes.waitFor(/Disable invites for 2 accounts/)
    yes.write('y\r')
    await yes.waitFor(/Disabled invites for 2 accounts \(0 already were\) and 0 unused codes; confirmed by the PDS\./)
    assert.equal(await yes.exited, 0)
    assert.equal((await adminView(bed, a.frank.did)).invitesDisabled, true)
    assert.equal((await adminView(bed, a.gus.did)).invitesDisabled, true)
  })
})
