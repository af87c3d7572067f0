import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli, runInProcess } from '../../helpers/cli.js'
import { json, startRecorder } from '../../helpers/recorder.js'
import type { AccountSummary } from '../../../src/lib/admin/accounts.js'
import type { ListResult } from '../../../src/commands/account/list.js'

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
    const res = await runInProcess<ListResult<AccountSummary>>(['account', 'list', '--page-size', '50', '--json'], bedEnv(bed, { PDSCTL_KEEP_ROWS: '1' }))
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.result?.count, 120)
    const dids = res.result?.rows?.map((r) => r.did) ?? []
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
    const res = await runInProcess<ListResult<AccountSummary>>(['account', 'list', '--limit', '7', '--json'], bedEnv(bed, { PDSCTL_KEEP_ROWS: '1' }))
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.result?.rows?.length, 7)
    assert.equal(JSON.parse(res.stdout).length, 7)
  })

  test('run() keeps no rows unless asked: it returns the count, the rows go to stdout only', async () => {
    const res = await runInProcess<ListResult<AccountSummary>>(['account', 'list', '--json'], bedEnv(bed))
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(res.result, { count: 120 })
    assert.equal(JSON.parse(res.stdout).length, 120)
  })

  test('--limit asks listRepos for exactly what it still needs (70 at 50 a page: 50, then 20, then stops)', async () => {
    const res = await runCli(['account', 'list', '--page-size', '50', '--limit', '70', '--json', '--debug'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(JSON.parse(res.stdout).length, 70)
    const limits = [...res.stderr.matchAll(/→ GET \/xrpc\/com\.atproto\.sync\.listRepos\?limit=(\d+)/g)].map((m) => Number(m[1]))
    assert.deepEqual(limits, [50, 20])
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

// A listRepos that pages wrongly is something a real PDS will not do on demand: a loopback
// server speaking the lexicon's shapes plays it.
describe('pdsctl account list against a server that pages wrongly', () => {
  const repo = (i: number) => ({ did: `did:plc:${String(i).padStart(24, 'a')}`, head: 'bafyreib2rxk3rh6kzwq', rev: `3l${i}`, active: true })
  const infos = (url: string) =>
    new URL(url, 'http://x').searchParams.getAll('dids').map((did) => ({ did, handle: `${did.slice(-6)}.test`, email: `${did.slice(-6)}@example.com`, indexedAt: '2026-01-01T00:00:00.000Z' }))

  const cases: Array<[string, (page: number, cursor: string | null) => unknown, RegExp]> = [
    ['repeats a cursor', (page) => ({ repos: [repo(page * 2), repo(page * 2 + 1)], cursor: page % 2 ? 'c1' : 'c0' }), /listRepos repeated the cursor c\d; stopped the listing instead of looping/],
    ['sends the same page again under new cursors', (page) => ({ repos: [repo(1), repo(2)], cursor: `c${page}` }), /listRepos sent a page with no new accounts \(cursor c0\); stopped the listing instead of looping/],
    ['answers without repos', () => ({ cursor: 'x' }), /the PDS answered com\.atproto\.sync\.listRepos without repos/],
  ]
  for (const [name, page, message] of cases) {
    test(`ends with exit 1 and one line naming listRepos when the server ${name} (text and --json)`, async () => {
      let pages = 0
      const srv = await startRecorder((req, res) => {
        if (req.url.startsWith('/xrpc/com.atproto.sync.listRepos')) return json(res, 200, page(pages++, new URL(req.url, 'http://x').searchParams.get('cursor')))
        if (req.url.startsWith('/xrpc/com.atproto.admin.getAccountInfos')) return json(res, 200, { infos: infos(req.url) })
        json(res, 404, { error: 'MethodNotImplemented' })
      })
      try {
        for (const json of [false, true]) {
          pages = 0
          const res = await runCli(['account', 'list', ...(json ? ['--json'] : [])], { env: { PDS_URL: srv.url, PDS_ADMIN_PASSWORD: 'x' }, timeoutMs: 30_000 })
          assert.equal(res.code, 1, res.stderr)
          const lines = res.stderr.trimEnd().split('\n')
          assert.equal(lines.length, 1, res.stderr)
          assert.match(lines[0], message)
          assert.ok(pages <= 3, `stopped after ${pages} pages`)
        }
      } finally {
        await srv.close()
      }
    })
  }
})
