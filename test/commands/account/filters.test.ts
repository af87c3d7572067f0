// `account list` triage filters on the real test bed: planted accounts that must and must
// not match each filter, bad input rejected before any request, and the spam pipeline
// `account list … --output did | account takedown - --yes` end to end.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { BIN, CLI_NODE, bedEnv, cleanEnv, runCli } from '../../helpers/cli.js'
import { startRecorder, type Recorder } from '../../helpers/recorder.js'
import { adminCode, backdate, confirmEmail, deactivate, giveCodes, setEmail, signUp, subjectStatus, takedown } from '../../lib/admin/triageBed.js'
import type { AccountSummary } from '../../../src/lib/admin/accounts.js'

describe('pdsctl account list filters', () => {
  let bed: TestBed
  let rec: Recorder
  const a: Record<string, SeededAccount> = {}
  let bobCode: string
  before(async () => {
    bed = await startTestBed({ inviteRequired: true })
    rec = await startRecorder()
    // alice: invited by the admin, email confirmed through the real flow; she invites bob and carol.
    a.alice = await signUp(bed, 'alice', await adminCode(bed))
    await confirmEmail(bed, a.alice)
    const [c1, c2] = await giveCodes(bed, a.alice.did, 2)
    a.bob = await signUp(bed, 'bob', c1)
    a.carol = await signUp(bed, 'carol', c2)
    await takedown(bed, a.carol.did)
    a.dave = await signUp(bed, 'dave', await adminCode(bed))
    await deactivate(bed, a.dave.did)
    a.eve = await signUp(bed, 'eve', await adminCode(bed))
    await setEmail(bed, a.eve.did, '') // no email at all
    // bob's one code, three uses: three bots on a disposable-mail domain (the PDS refuses
    // those at sign-up, so the admin sets them afterwards, as a bot's later email change would).
    ;[bobCode] = await giveCodes(bed, a.bob.did, 1, 3)
    for (const n of [1, 2, 3]) {
      a[`bot${n}`] = await signUp(bed, `bot${n}`, bobCode)
      await setEmail(bed, a[`bot${n}`].did, `bot${n}@mailinator.com`)
    }
    // An old sign-up, 40 days ago.
    a.oldtimer = await signUp(bed, 'oldtimer', await adminCode(bed))
    await backdate(bed, a.oldtimer.did, new Date(Date.now() - 40 * 86_400_000))
  })
  after(async () => {
    await rec?.close()
    await bed?.close()
  })

  const names = (rows: AccountSummary[]) => rows.map((r) => r.handle!.replace(/\.test$/, '')).sort()
  async function list(...args: string[]): Promise<string[]> {
    const res = await runCli(['account', 'list', '--json', ...args], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    return names(JSON.parse(res.stdout))
  }

  test('no filter: every planted account', async () => {
    assert.deepEqual(await list(), ['alice', 'bob', 'bot1', 'bot2', 'bot3', 'carol', 'dave', 'eve', 'oldtimer'])
  })

  test('--status, repeatable', async () => {
    assert.deepEqual(await list('--status', 'takendown'), ['carol'])
    assert.deepEqual(await list('--status', 'deactivated'), ['dave'])
    assert.deepEqual(await list('--status', 'takendown', '--status', 'deactivated'), ['carol', 'dave'])
    assert.deepEqual(await list('--status', 'active'), ['alice', 'bob', 'bot1', 'bot2', 'bot3', 'eve', 'oldtimer'])
  })

  test('--confirmed, --unconfirmed, --no-email', async () => {
    assert.deepEqual(await list('--confirmed'), ['alice'])
    assert.deepEqual(await list('--unconfirmed'), ['bob', 'bot1', 'bot2', 'bot3', 'carol', 'dave', 'eve', 'oldtimer'])
    assert.deepEqual(await list('--no-email'), ['eve'])
  })

  test('--created-after / --created-before: relative, date and datetime', async () => {
    assert.deepEqual(await list('--created-before', '7d'), ['oldtimer'])
    assert.deepEqual(await list('--created-after', '1w'), ['alice', 'bob', 'bot1', 'bot2', 'bot3', 'carol', 'dave', 'eve'])
    const d35 = new Date(Date.now() - 35 * 86_400_000).toISOString().slice(0, 10)
    const d45 = new Date(Date.now() - 45 * 86_400_000).toISOString().slice(0, 10)
    assert.deepEqual(await list('--created-after', d45, '--created-before', d35), ['oldtimer'])
    assert.deepEqual(await list('--created-after', '3h', '--created-before', new Date(Date.now() - 3_600_000).toISOString()), [])
  })

  test('--handle and --email globs, case-insensitive', async () => {
    assert.deepEqual(await list('--handle', 'BOT*.test'), ['bot1', 'bot2', 'bot3'])
    assert.deepEqual(await list('--handle', 'bot[12].test'), ['bot1', 'bot2'])
    assert.deepEqual(await list('--handle', '?ob.test'), ['bob'])
    assert.deepEqual(await list('--email', '*@MAILINATOR.com'), ['bot1', 'bot2', 'bot3'])
    assert.deepEqual(await list('--email', '*@example.com'), ['alice', 'bob', 'carol', 'dave', 'oldtimer'])
    assert.deepEqual(await list('--email', '*@mailinator'), [], 'anchored: the pattern is the whole address')
  })

  test('--invited-by an account (handle or DID), a code, or admin', async () => {
    assert.deepEqual(await list('--invited-by', a.alice.handle), ['bob', 'carol'])
    assert.deepEqual(await list('--invited-by', a.bob.did), ['bot1', 'bot2', 'bot3'])
    assert.deepEqual(await list('--invited-by', bobCode), ['bot1', 'bot2', 'bot3'])
    assert.deepEqual(await list('--invited-by', 'admin'), ['alice', 'dave', 'eve', 'oldtimer'])
    assert.deepEqual(await list('--invited-by', a.eve.handle), [])
    const missing = await runCli(['account', 'list', '--invited-by', 'localhost-zzzzz-zzzzz'], { env: bedEnv(bed) })
    assert.equal(missing.code, 4)
    assert.match(missing.stderr, /^Error: no invite code localhost-zzzzz-zzzzz on this PDS/)
  })

  test('filters combine with AND', async () => {
    assert.deepEqual(await list('--unconfirmed', '--email', '*@mailinator.com', '--handle', 'bot[12]*'), ['bot1', 'bot2'])
    assert.deepEqual(await list('--status', 'active', '--invited-by', a.alice.did), ['bob'])
    assert.deepEqual(await list('--confirmed', '--created-before', '7d'), [])
  })

  test('--limit counts matches, not rows scanned', async () => {
    const res = await runCli(['account', 'list', '--email', '*@mailinator.com', '--limit', '2'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const lines = res.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 2)
    for (const l of lines) assert.match(l, /^bot\d\.test\tbot\d@mailinator\.com\t/)
    assert.match(res.stderr, /^2 matching accounts \(\d+ scanned\)\n$/)
  })

  test('--output did|handle: one per line, no header, also on a terminal', async () => {
    const res = await runCli(['account', 'list', '--handle', 'bot*', '--output', 'did'], { env: bedEnv(bed, { PDSCTL_FORCE_TTY: '1' }) })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(res.stdout.trimEnd().split('\n').sort(), [a.bot1.did, a.bot2.did, a.bot3.did].sort())
    const h = await runCli(['account', 'list', '--status', 'takendown', '--output', 'handle'], { env: bedEnv(bed) })
    assert.equal(h.stdout, 'carol.test\n')
    const both = await runCli(['account', 'list', '--output', 'did', '--json'], { env: bedEnv(bed) })
    assert.equal(both.code, 2)
  })

  test('bad input is rejected with exit 2 before any request', async () => {
    const env = { PDS_URL: rec.url, PDS_ADMIN_PASSWORD: 'x' }
    const bad: Array<[string[], RegExp]> = [
      [['--created-after', 'yesterday'], /--created-after "yesterday" is not a date\. Give an ISO date/],
      [['--created-before', '2026-02-30'], /--created-before "2026-02-30" is not a date/],
      [['--created-after', '7y'], /is not a date/],
      [['--created-after', '2026-11-01T10:00:00'], /is not a date/],
      [['--created-after', '2026-11-10', '--created-before', '2026-11-01'], /must be before --created-before/],
      [['--status', 'actve'], /Expected --status=actve to be one of/],
      [['--confirmed', '--unconfirmed'], /^Error: --confirmed and --unconfirmed cannot be used together \(see pdsctl account list --help\)$/m],
      [['--no-email', '--email', '*@x.com'], /^Error: --email and --no-email cannot be used together/m],
      [['--handle', ''], /--handle needs a pattern/],
      [['--invited-by', 'not a code!'], /--invited-by "not a code!" is neither an account nor an invite code/],
      [['--output', 'email'], /Expected --output=email to be one of: did, handle/],
    ]
    for (const [args, re] of bad) {
      const res = await runCli(['account', 'list', ...args], { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.match(res.stderr, re)
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr)
    }
    assert.equal(rec.requests.length, 0, 'no request was made')
  })

  test('the spam pipeline: list --unconfirmed --created-after 7d --output did | takedown - (dry run first, then --yes)', async () => {
    const shell = (cmd: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn('sh', ['-c', cmd], { env: { ...cleanEnv(bedEnv(bed)), PDSCTL: `"${CLI_NODE}" "${BIN}"` } })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d) => (stdout += d))
        child.stderr.on('data', (d) => (stderr += d))
        child.on('error', reject)
        child.on('close', (code) => resolve({ code, stdout, stderr }))
      })
    const pipeline = (verbFlags: string) => shell(`eval "$PDSCTL account list --unconfirmed --created-after 7d --output did" | eval "$PDSCTL account takedown - ${verbFlags} --json"`)
    const expected = ['bob', 'bot1', 'bot2', 'bot3', 'carol', 'dave', 'eve'].map((n) => a[n].did).sort()

    const dry = await pipeline('--dry-run')
    assert.equal(dry.code, 0, dry.stderr)
    const dryOut = JSON.parse(dry.stdout)
    assert.deepEqual(dryOut.results.map((r: { input: string }) => r.input).sort(), expected)
    assert.ok(dryOut.results.every((r: { result: { dryRun: boolean } }) => r.result.dryRun))
    assert.equal((await subjectStatus(bed, a.bob.did)).takedown?.applied ?? false, false, 'the dry run changed nothing')

    const real = await pipeline('--yes')
    assert.equal(real.code, 0, real.stderr)
    const out = JSON.parse(real.stdout)
    assert.equal(out.ok, expected.length)
    assert.equal(out.failed, 0)
    // Verified through the admin view, account by account.
    for (const n of ['bob', 'bot1', 'bot2', 'bot3', 'carol', 'dave', 'eve']) {
      assert.equal((await subjectStatus(bed, a[n].did)).takedown?.applied, true, `${n} taken down`)
    }
    for (const n of ['alice', 'oldtimer']) {
      assert.equal((await subjectStatus(bed, a[n].did)).takedown?.applied ?? false, false, `${n} untouched`)
    }
    // dave was deactivated and is now also taken down: listRepos reports the takedown.
    assert.deepEqual(await list('--status', 'takendown', '--created-after', '7d'), ['bob', 'bot1', 'bot2', 'bot3', 'carol', 'dave', 'eve'])
  })
})
