import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli, runInProcess } from '../../helpers/cli.js'
import type { AccountSummary } from '../../../src/lib/admin/accounts.js'

describe('pdsctl account list', () => {
  let bed: TestBed
  let seeded: SeededAccount[]
  before(async () => {
    bed = await startTestBed()
    seeded = await bed.seed(120)
  })
  after(() => bed.close())

  test('lists more than 100 accounts completely, with handle and email (--json)', async () => {
    const res = await runCli(['account', 'list', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const rows = JSON.parse(res.stdout) as AccountSummary[]
    assert.equal(rows.length, 120)
    const byDid = new Map(rows.map((r) => [r.did, r]))
    for (const s of seeded) {
      const row = byDid.get(s.did)
      assert.ok(row, `missing ${s.handle}`)
      assert.equal(row.handle, s.handle)
      assert.equal(row.email, s.email)
      assert.equal(row.status, 'active')
      assert.equal(row.emailConfirmed, false)
      assert.match(row.createdAt ?? '', /^\d{4}-\d\d-\d\dT/)
    }
    assert.equal(res.stderr, '', 'nothing on stderr in --json mode on success')
  })

  test('pages with cursors: 120 accounts at 50 a page come back whole, once each, in order', async () => {
    const res = await runInProcess<AccountSummary[]>(['account', 'list', '--page-size', '50', '--json'], bedEnv(bed))
    assert.equal(res.code, 0, res.stderr)
    const dids = res.result?.map((r) => r.did) ?? []
    assert.equal(dids.length, 120)
    assert.equal(new Set(dids).size, 120)
    assert.deepEqual(new Set(dids), new Set(seeded.map((s) => s.did)))
    assert.deepEqual(JSON.parse(res.stdout).map((r: AccountSummary) => r.did), dids)
  })

  test('--debug shows three listRepos pages and batched getAccountInfos, never the password', async () => {
    const res = await runCli(['account', 'list', '--page-size', '50', '--debug'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    // Three pages of data, plus the empty page that ends the cursor chain when the PDS
    // still hands out a cursor after the last partial page.
    const pages = (res.stderr.match(/→ GET \/xrpc\/com\.atproto\.sync\.listRepos/g) ?? []).length
    assert.ok(pages === 3 || pages === 4, `listRepos calls: ${pages}`)
    assert.equal((res.stderr.match(/→ GET \/xrpc\/com\.atproto\.admin\.getAccountInfos/g) ?? []).length, 3)
    assert.ok(!res.stderr.includes(bed.adminPassword))
    assert.ok(!res.stderr.includes(Buffer.from(`admin:${bed.adminPassword}`).toString('base64')))
  })

  test('--limit stops after that many accounts', async () => {
    const res = await runInProcess<AccountSummary[]>(['account', 'list', '--limit', '7', '--json'], bedEnv(bed))
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.result?.length, 7)
    assert.equal(JSON.parse(res.stdout).length, 7)
  })

  test('piped output is tab-separated rows without a header; the count goes to stderr', async () => {
    const res = await runCli(['account', 'list'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const lines = res.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 120)
    const cells = lines.find((l) => l.startsWith(seeded[0].handle + '\t'))?.split('\t')
    assert.deepEqual(cells?.slice(0, 5), [seeded[0].handle, seeded[0].email, 'false', 'active', seeded[0].did])
    assert.match(res.stderr, /^120 accounts\n$/)
  })

  test('a terminal gets an aligned table with a header', async () => {
    const res = await runCli(['account', 'list', '--limit', '3'], { env: bedEnv(bed, { PDSCTL_FORCE_TTY: '1' }) })
    assert.equal(res.code, 0, res.stderr)
    const lines = res.stdout.trimEnd().split('\n')
    assert.match(lines[0], /^HANDLE\s+EMAIL\s+CONFIRMED\s+STATUS\s+DID\s+CREATED\s*$/)
    assert.equal(lines.length, 4)
    assert.ok(!res.stdout.includes('\t'))
  })

  test('a wrong admin password: exit 3, one line naming the problem, no stack, password never printed', async () => {
    const res = await runCli(['account', 'list'], { env: bedEnv(bed, { PDS_ADMIN_PASSWORD: 'not-the-password-xyz' }) })
    assert.equal(res.code, 3)
    assert.equal(res.stdout, '')
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr)
    assert.match(res.stderr, /^Error: the PDS rejected the admin password \(AuthenticationRequired/)
    assert.ok(!res.stderr.includes('not-the-password-xyz'))
    assert.ok(!/\bat .+:\d+:\d+/.test(res.stderr), 'no stack trace')
  })

  test('the PDS down (connection refused): exit 1 with one line', async () => {
    const res = await runCli(['account', 'list'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(res.code, 1)
    assert.match(res.stderr, /^Error: cannot connect to the PDS at http:\/\/127\.0\.0\.1:9 \(connection refused\)\. Is it running/)
    assert.equal(res.stderr.trimEnd().split('\n').length, 1)
  })

  test('under --json an error is also a JSON object on stdout with the exit code', async () => {
    const res = await runCli(['account', 'list', '--json'], { env: bedEnv(bed, { PDS_ADMIN_PASSWORD: 'nope' }) })
    assert.equal(res.code, 3)
    const body = JSON.parse(res.stdout)
    assert.equal(body.error.name, 'AuthError')
    assert.equal(body.error.exitCode, 3)
  })
})
