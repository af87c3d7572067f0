import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
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
