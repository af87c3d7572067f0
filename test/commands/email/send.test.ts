import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import { startFakeKube } from '../../bed/fakeKube.js'
import { reapKubectls } from '../../helpers/processes.js'
import type { SentEmail } from '../../../src/lib/admin/email.js'

describe('pdsctl email send', () => {
  let bed: TestBed
  let erin: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[erin] = await bed.seed(1, 'erin')
  })
  after(() => bed.close())

  test('the mail arrives at the account address with the subject and body (--body, --body-file, stdin)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mail-'))
    writeFileSync(path.join(dir, 'body.txt'), 'Body from a file.\n')
    for (const [args, stdin, expected] of [
      [['--body', 'Maintenance at 22:00 UTC.'], '', 'Maintenance at 22:00 UTC.'],
      [['--body-file', path.join(dir, 'body.txt')], '', 'Body from a file.'],
      [['--body-file', '-'], 'Body from stdin.\n', 'Body from stdin.'],
    ] as Array<[string[], string, string]>) {
      const since = bed.mail.messages.length
      const subject = `Notice ${since}`
      const res = await runCli(['email', 'send', erin.handle, '--subject', subject, ...args, '--json'], { env: bedEnv(bed), stdin })
      assert.equal(res.code, 0, res.stderr)
      assert.deepEqual(JSON.parse(res.stdout) as SentEmail, { did: erin.did, handle: erin.handle, email: erin.email, subject, sent: true })
      const mail = await bed.mail.waitFor(erin.email, { since })
      assert.equal(mail.subject, subject)
      assert.ok(mail.text.includes(expected), mail.text)
    }
  })

  test('bad input: no body, both body flags, malformed account, missing file', async () => {
    const env = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }
    for (const args of [[erin.handle, '--subject', 's'], [erin.handle, '--subject', 's', '--body', 'x', '--body-file', '-'], ['bad!', '--subject', 's', '--body', 'x'], [erin.handle, '--subject', 's', '--body-file', '/nonexistent/file']]) {
      const res = await runCli(['email', 'send', ...args], { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    }
  })
})

describe('pdsctl email send without a moderation mailer', () => {
  let bed: TestBed
  let fay: SeededAccount
  before(async () => {
    bed = await startTestBed({ moderationEmail: false })
    ;[fay] = await bed.seed(1, 'fay')
  })
  after(() => bed.close())

  test('the PDS answers sent: true and sends nothing; pdsctl warns when the env file shows PDS_MODERATION_EMAIL_SMTP_URL unset', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'modmail-'))
    const unset = path.join(dir, 'unset.env')
    writeFileSync(unset, `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_EMAIL_SMTP_URL=smtp://127.0.0.1:${bed.mail.port}\nPDS_EMAIL_FROM_ADDRESS=pds@localhost\n`)
    const since = bed.mail.messages.length
    const res = await runCli(['email', 'send', fay.handle, '--subject', 'Hello', '--body', 'x', '--url', bed.url, '--env-file', unset, '--json'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as SentEmail).sent, true, 'the PDS claims it sent')
    assert.match(res.stderr, new RegExp(`^Warning: PDS_MODERATION_EMAIL_SMTP_URL is not set in ${unset.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the PDS will answer sent: true and send nothing`, 'm'))
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(bed.mail.messages.length, since, 'and nothing was sent')

    const set = path.join(dir, 'set.env')
    writeFileSync(set, `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_MODERATION_EMAIL_SMTP_URL=smtp://127.0.0.1:${bed.mail.port}\nPDS_MODERATION_EMAIL_ADDRESS=mod@localhost\n`)
    const quiet = await runCli(['email', 'send', fay.handle, '--subject', 'Hello', '--body', 'x', '--url', bed.url, '--env-file', set])
    assert.equal(quiet.code, 0, quiet.stderr)
    assert.doesNotMatch(quiet.stderr, /MODERATION/)
  })

  test('the same warning when the Secret (read with the real kubectl, PDS through the port-forward) has no moderation mailer', async () => {
    const k = await startFakeKube({ backendPort: bed.port, secrets: { bluesky: { adminPassword: bed.adminPassword, smtpServer: `smtp://127.0.0.1:${bed.mail.port}`, smtpFromAddress: 'pds@localhost' } } })
    try {
      const res = await runCli(['email', 'send', fay.handle, '--subject', 'Hi', '--body', 'x', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky', '--json'], { env: k.env })
      assert.equal(res.code, 0, res.stderr)
      assert.equal((JSON.parse(res.stdout) as SentEmail).sent, true)
      assert.match(res.stderr, /^Warning: PDS_MODERATION_EMAIL_SMTP_URL is not set in Secret bluesky: the PDS will answer sent: true and send nothing/m)
      assert.ok(!res.stderr.includes(bed.adminPassword))
    } finally {
      assert.deepEqual(await reapKubectls(k.cacheDir), [])
      await k.close()
    }
  })
})
