// request-crawl, relay status and relay account against the real test-bed PDS and stand-in
// relays (test/bed/relay.ts) that speak the relay lexicons' shapes and flag any credential.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startRelay, type RelayStandIn } from '../../bed/relay.js'
import { startTestBed, xrpc, type TestBed, type SeededAccount } from '../../bed/pds.js'
import { runCli } from '../../helpers/cli.js'
import type { AccountSyncReport, CrawlResult, HostStatusReport } from '../../../src/lib/federation/relays.js'

const ADMIN = 'very-secret-admin'
const relays: RelayStandIn[] = []
async function relay(opts: Parameters<typeof startRelay>[0] = {}): Promise<RelayStandIn> {
  const r = await startRelay({ ...opts, secrets: [ADMIN, 'also-secret', ...(opts.secrets ?? [])] })
  relays.push(r)
  return r
}

describe('pdsctl request-crawl', () => {
  let r1: RelayStandIn
  let r2: RelayStandIn
  let envFile: string
  before(async () => {
    r1 = await relay({ knownHosts: { 'pds.example.com': { status: 'active', accountCount: 12 } } })
    r2 = await relay()
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-'))
    envFile = path.join(dir, 'pds.env')
    writeFileSync(envFile, `PDS_HOSTNAME=pds.example.com\nPDS_ADMIN_PASSWORD=${ADMIN}\nPDS_CRAWLERS=${r1.url},${r2.url}\n`)
  })
  after(async () => {
    for (const r of relays.splice(0)) await r.close()
  })

  test('relays and hostname from the env file; each relay gets {hostname} once and no credential', async () => {
    const res = await runCli(['request-crawl', '--env-file', envFile, '--json'], { env: { PDS_ADMIN_PASSWORD: 'also-secret' } })
    assert.equal(res.code, 0, res.stderr)
    const results = JSON.parse(res.stdout) as CrawlResult[]
    assert.deepEqual(results, [
      { relay: r1.url, hostname: 'pds.example.com', ok: true, attempts: 1 },
      { relay: r2.url, hostname: 'pds.example.com', ok: true, attempts: 1 },
    ])
    for (const r of [r1, r2]) {
      const req = r.requests.find((q) => q.url === '/xrpc/com.atproto.sync.requestCrawl')!
      assert.equal(req.method, 'POST')
      assert.deepEqual(JSON.parse(req.body), { hostname: 'pds.example.com' })
      assert.equal(req.headers['content-type'], 'application/json')
      assert.deepEqual(r.crawled, ['pds.example.com'])
      assert.deepEqual(r.credentialLeaks, [])
    }
  })

  test('a relay failing twice (proxy 503) is retried with backoff and succeeds on the third attempt', async () => {
    const r = await relay()
    r.crawl.failTimes = 2
    r.crawl.failWith = 'proxy-503'
    const res = await runCli(['request-crawl', '--relay', r.url, '--hostname', 'pds.example.com', '--json'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), [{ relay: r.url, hostname: 'pds.example.com', ok: true, attempts: 3 }])
    assert.equal(r.crawlTimes.length, 3)
    const gaps = [r.crawlTimes[1] - r.crawlTimes[0], r.crawlTimes[2] - r.crawlTimes[1]]
    assert.ok(gaps[0] >= 950 && gaps[0] < 1800, `first backoff ~1 s: ${gaps}`)
    assert.ok(gaps[1] >= 1950 && gaps[1] < 3000, `second backoff ~2 s: ${gaps}`)
    assert.match(res.stderr, /attempt 1 failed \(HTTP 503 without an XRPC error body\); retrying in 1\.0 s/)
  })

  test("a 429's Retry-After is honoured instead of the backoff", async () => {
    const r = await relay()
    Object.assign(r.crawl, { failTimes: 1, failWith: '429', retryAfterS: 3 })
    const res = await runCli(['request-crawl', r.url, '--hostname', 'pds.example.com', '--json'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as CrawlResult[])[0].attempts, 2)
    const gap = r.crawlTimes[1] - r.crawlTimes[0]
    assert.ok(gap >= 2950 && gap < 4000, `waited Retry-After 3 s, not the 1 s backoff: ${gap}`)
  })

  test('retries stop at --attempts and at --max-time', async () => {
    const r = await relay()
    Object.assign(r.crawl, { failTimes: 100, failWith: 'xrpc-500' })
    const few = await runCli(['request-crawl', r.url, '--hostname', 'pds.example.com', '--attempts', '2', '--json'])
    assert.equal(few.code, 1, few.stderr)
    const [res] = JSON.parse(few.stdout) as CrawlResult[]
    assert.equal(res.ok, false)
    assert.equal(res.attempts, 2)
    assert.equal(res.error, 'InternalServerError: Internal Server Error (HTTP 500)')
    assert.match(few.stderr, /^Error: no relay accepted the crawl request for pds\.example\.com: InternalServerError/m)
    // Under --json stdout stays one document even on failure.
    assert.doesNotThrow(() => JSON.parse(few.stdout))
    const before = r.crawlTimes.length
    const t0 = Date.now()
    const capped = await runCli(['request-crawl', r.url, '--hostname', 'pds.example.com', '--attempts', '10', '--max-time', '2', '--json'])
    assert.equal(capped.code, 1)
    const [c] = JSON.parse(capped.stdout) as CrawlResult[]
    assert.equal(c.attempts, 2, 'after 1 s of backoff the next 2 s wait would pass the 2 s limit')
    assert.match(c.error!, /gave up: the next try, in 2 s, would pass the 2 s limit/)
    assert.equal(r.crawlTimes.length - before, 2)
    assert.ok(Date.now() - t0 < 6000)
  })

  test('HostBanned is final (no retry) and names the relay operator; a dead relay beside a good one gives exit 5', async () => {
    const banned = await relay({ knownHosts: { 'pds.example.com': { status: 'banned', accountCount: 3 } } })
    const res = await runCli(['request-crawl', banned.url, r2.url, 'http://127.0.0.1:9', '--hostname', 'pds.example.com', '--attempts', '2'])
    assert.equal(res.code, 5, res.stderr)
    assert.equal(banned.crawlTimes.length, 1)
    const rows = res.stdout.trim().split('\n').map((l) => l.split('\t'))
    assert.deepEqual(rows.map((r) => r.slice(0, 3)), [[banned.url, 'failed', '1'], [r2.url, 'requested', '1'], ['http://127.0.0.1:9', 'failed', '2']])
    assert.match(rows[0][3], /^HostBanned: host is banned: pds\.example\.com \(HTTP 400\)/)
    assert.match(rows[2][3], /cannot connect to the relay at http:\/\/127\.0\.0\.1:9 \(connection refused\)/)
    assert.match(res.stderr, /has banned pds\.example\.com: only the relay's operator can lift that/)
    assert.match(res.stderr, /^Error: 2 of 3 relays failed/m)
  })

  test('bad input is refused before any request: a hostname with a scheme, a non-loopback http relay, no hostname', async () => {
    const count = r1.requests.length
    for (const args of [['--hostname', 'https://pds.example.com'], ['http://relay.example.com', '--hostname', 'pds.example.com'], ['--relay', 'ftp://x', '--hostname', 'a.b'], []]) {
      const res = await runCli(['request-crawl', ...args])
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.equal(res.stderr.split('\n').filter(Boolean).length, 1, res.stderr)
    }
    assert.equal(r1.requests.length, count, 'no request reached a relay')
  })
})

describe('pdsctl relay status / relay account (real PDS)', () => {
  let bed: TestBed
  let accounts: SeededAccount[]
  let active: RelayStandIn
  let unknown: RelayStandIn
  let banned: RelayStandIn
  let idle: RelayStandIn
  const revs: string[] = []
  /** The PDS's latest firehose seq, read from its own sequencer (what pdsctl must find from outside). */
  let curr: number
  before(async () => {
    bed = await startTestBed({ adminPassword: ADMIN })
    accounts = await bed.seed(3, 'sync')
    // Three commits by sync0, the rev after each one recorded (revs are TIDs).
    const a = accounts[0]
    const session = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: a.did, password: a.password })
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${bed.url}/xrpc/com.atproto.repo.createRecord`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessJwt}` },
        body: JSON.stringify({ repo: a.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: `post ${i}`, createdAt: new Date().toISOString() } }),
      })
      assert.equal(res.status, 200)
      const latest = (await (await fetch(`${bed.url}/xrpc/com.atproto.sync.getLatestCommit?did=${a.did}`)).json()) as { rev: string }
      revs.push(latest.rev)
    }
    curr = (await bed.pds.ctx.sequencer.curr())!
    assert.ok(curr > 10, String(curr))
    active = await relay({ knownHosts: { localhost: { status: 'active', accountCount: 3, seq: curr - 2 } }, repos: { [a.did]: { active: true, rev: revs[2] } } })
    unknown = await relay()
    banned = await relay({ knownHosts: { localhost: { status: 'banned', accountCount: 1, seq: curr - 7 } }, repos: { [a.did]: { active: true, rev: revs[0] } } })
    idle = await relay({ knownHosts: { localhost: { status: 'idle', accountCount: 2, seq: curr - 9 } }, repos: { [a.did]: { active: false, status: 'takendown' } } })
  })
  after(async () => {
    for (const r of relays.splice(0)) await r.close()
    await bed.close()
  })

  test('relay status: each relay beside the PDS count; unknown, banned, idle and dead relays named with their fix', async () => {
    const res = await runCli(
      ['relay', 'status', '--url', bed.url, '--hostname', 'localhost', ...[active, unknown, banned, idle].flatMap((r) => ['--relay', r.url]), '--relay', 'http://127.0.0.1:9', '--json'],
      { env: { PDS_ADMIN_PASSWORD: ADMIN } },
    )
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as HostStatusReport
    assert.equal(report.hostname, 'localhost')
    const { seqSource, ...pds } = report.pds
    assert.deepEqual(pds, { accounts: 3, activeAccounts: 3, seq: curr, error: null })
    assert.match(seqSource, /^subscribeRepos cursor probe \(\d+ connections\)$/)
    assert.deepEqual(report.relays.slice(0, 4), [
      { relay: active.url, ok: true, known: true, status: 'active', accountCount: 3, seq: curr - 2, seqBehind: 2, accountLimit: null, accountLimitError: null, error: null },
      { relay: unknown.url, ok: true, known: false, status: null, accountCount: null, seq: null, seqBehind: null, accountLimit: null, accountLimitError: null, error: null },
      { relay: banned.url, ok: true, known: true, status: 'banned', accountCount: 1, seq: curr - 7, seqBehind: 7, accountLimit: null, accountLimitError: null, error: null },
      { relay: idle.url, ok: true, known: true, status: 'idle', accountCount: 2, seq: curr - 9, seqBehind: 9, accountLimit: null, accountLimitError: null, error: null },
    ])
    assert.equal(report.relays[4].ok, false)
    assert.match(report.relays[4].error!, /connection refused/)
    assert.match(res.stderr, new RegExp(`${unknown.url} does not know localhost \\(HostNotFound\\).*Fix: Ask it to with \`pdsctl request-crawl ${unknown.url}\``))
    assert.match(res.stderr, /has localhost as banned\. Fix: A banned host needs the relay's operator/)
    assert.match(res.stderr, /has localhost as idle: it stopped following this PDS.*request-crawl/)
    for (const r of [active, unknown, banned, idle]) assert.deepEqual(r.credentialLeaks, [])
  })

  test("relay status: a relay whose cursor is past the PDS's latest seq (a reset database) is named with both numbers and the fix", async () => {
    const ahead = await relay({ knownHosts: { localhost: { status: 'active', accountCount: 3, seq: curr + 500 } } })
    const res = await runCli(['relay', 'status', '--url', bed.url, '--hostname', 'localhost', '--relay', ahead.url, '--json'])
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as HostStatusReport
    assert.equal(report.pds.seq, curr)
    assert.equal(report.relays[0].seqBehind, -500)
    assert.ok(
      res.stderr.includes(
        `${ahead.url}'s cursor for localhost is seq ${curr + 500}, past the PDS's latest seq ${curr} (by 500): the PDS's event sequence went back (a recreated or restored database), and the relay ignores its new events until they are numbered above ${curr + 500}. ` +
          `Fix: Stop the PDS, run \`pdsctl relay fix-desync --data-dir /pds --to-seq ${curr + 500}\` on its host (with --kube-* it prints the steps for Kubernetes), start the PDS, then \`pdsctl request-crawl ${ahead.url}\`.`,
      ),
      res.stderr,
    )
  })

  test('relay status: a host limit (the newest accounts throttled) is found by bisection and named with how to raise it', async () => {
    const order = ((await (await fetch(`${bed.url}/xrpc/com.atproto.sync.listRepos`)).json()) as { repos: Array<{ did: string; rev: string }> }).repos
    assert.equal(order.length, 3)
    const repos = { [order[0].did]: { active: true, rev: order[0].rev }, [order[1].did]: { active: false, status: 'throttled' }, [order[2].did]: { active: false, status: 'throttled' } }
    const limited = await relay({ knownHosts: { localhost: { status: 'active', accountCount: 3, seq: curr } }, repos })
    const res = await runCli(['relay', 'status', '--url', bed.url, '--hostname', 'localhost', '--relay', limited.url, '--json'])
    assert.equal(res.code, 0, res.stderr)
    const r = (JSON.parse(res.stdout) as HostStatusReport).relays[0]
    assert.deepEqual(r.accountLimit, { accounts: 1, throttled: 2, probes: r.accountLimit!.probes })
    assert.ok(r.accountLimit!.probes <= 3, String(r.accountLimit!.probes))
    assert.equal(r.accountLimitError, null)
    assert.ok(
      res.stderr.includes(
        `${limited.url} limits localhost to 1 account: the 2 newest active accounts are throttled there (created after the first 1; the relay counts 3 accounts for this host), so nothing they post reaches the network. ` +
          `Fix: Ask the relay's operator to raise it (on a relay you run: \`RELAY_HOST=${limited.url} goat relay admin host config --account-limit N localhost\`), with the throttled DIDs: \`pdsctl relay accounts --relay ${limited.url} --problem throttled --output did\`.`,
      ),
      res.stderr,
    )
    // The list that sentence points at is exactly the throttled accounts.
    const list = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', limited.url, '--problem', 'throttled', '--output', 'did'])
    assert.deepEqual(list.stdout.trim().split('\n'), [order[1].did, order[2].did])
    // Piped, the row carries the limit beside the counts.
    const tsv = await runCli(['relay', 'status', '--url', bed.url, '--hostname', 'localhost', '--relay', limited.url])
    assert.deepEqual(tsv.stdout.trim().split('\t').slice(0, 10), [limited.url, 'true', 'active', '3', '3', String(curr), String(curr), '0', '1', '2'])
    assert.deepEqual(limited.credentialLeaks, [])
  })

  test('relay status: the relays from PDS_CRAWLERS; TSV when piped; exit 1 only when every relay failed', async () => {
    const ok = await runCli(['relay', 'status', '--url', bed.url, '--hostname', 'localhost'], { env: { PDS_CRAWLERS: `${active.url}, ${unknown.url}` } })
    assert.equal(ok.code, 0, ok.stderr)
    assert.deepEqual(ok.stdout.split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, 8)), [
      [active.url, 'true', 'active', '3', '3', String(curr - 2), String(curr), '2'],
      [unknown.url, 'false', 'unknown host', '', '3', '', String(curr), ''],
    ])
    const dead = await runCli(['relay', 'status', '--url', bed.url, '--hostname', 'localhost', '--relay', 'http://127.0.0.1:9', '--json'])
    assert.equal(dead.code, 1)
    assert.equal((JSON.parse(dead.stdout) as HostStatusReport).relays[0].ok, false)
    assert.match(dead.stderr, /^Error: no relay answered getHostStatus for localhost: cannot connect/m)
  })

  test('relay account: in sync, behind by two revs (compared as TIDs), inactive, unknown repo', async () => {
    const a = accounts[0]
    const res = await runCli(['relay', 'account', a.handle, '--url', bed.url, ...[active, banned, idle, unknown].flatMap((r) => ['--relay', r.url]), '--json'])
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as AccountSyncReport
    assert.equal(report.did, a.did)
    assert.equal(report.pds.rev, revs[2])
    const [inSync, behind, inactive, none] = report.relays
    assert.deepEqual([inSync.sync, inSync.rev, inSync.behindMs], ['in-sync', revs[2], null])
    assert.equal(behind.sync, 'behind')
    assert.equal(behind.rev, revs[0])
    assert.ok(behind.behindMs! > 0 && behind.behindMs! < 60_000, String(behind.behindMs))
    assert.deepEqual([inactive.active, inactive.status, inactive.rev, inactive.sync], [false, 'takendown', null, 'unknown'])
    assert.deepEqual([none.ok, none.known, none.sync], [true, false, 'unknown'])
    assert.match(res.stderr, new RegExp(`${banned.url} is behind for ${a.did} \\(rev ${revs[0]} < ${revs[2]}\\)`))
    assert.match(res.stderr, new RegExp(`${unknown.url} does not know ${a.did}`))
    for (const r of [active, banned, idle, unknown]) assert.deepEqual(r.credentialLeaks, [])
  })

  test('relay account: an account the PDS does not host is exit 4; a malformed one exit 2 with no request', async () => {
    const missing = await runCli(['relay', 'account', 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', '--url', bed.url, '--relay', active.url])
    assert.equal(missing.code, 4, missing.stderr)
    assert.match(missing.stderr, /^Error: this PDS does not host did:plc:aaaaaaaaaaaaaaaaaaaaaaaa \(RepoNotFound/m)
    const n = active.requests.length
    const bad = await runCli(['relay', 'account', 'not a handle!', '--url', bed.url, '--relay', active.url])
    assert.equal(bad.code, 2)
    assert.equal(active.requests.length, n)
  })
})

describe('pdsctl relay status (PDS 0.4.x): host limit and desync', () => {
  let bed: TestBed
  before(async () => {
    bed = await startTestBed({ line: '0.4', adminPassword: ADMIN })
    await bed.seed(4, 'old')
  })
  after(async () => {
    for (const r of relays.splice(0)) await r.close()
    await bed.close()
  })

  test("the limit found by bisection over 0.4's listRepos; a cursor past the PDS's seq found by probing 0.4's firehose", async () => {
    const order = ((await (await fetch(`${bed.url}/xrpc/com.atproto.sync.listRepos`)).json()) as { repos: Array<{ did: string; rev: string }> }).repos
    const repos = Object.fromEntries(order.map((a, i) => [a.did, i < 2 ? { active: true, rev: a.rev } : { active: false, status: 'throttled' }]))
    const r = await relay({ knownHosts: { localhost: { status: 'active', accountCount: 4, seq: 100_000 } }, repos })
    const res = await runCli(['relay', 'status', '--url', bed.url, '--hostname', 'localhost', '--relay', r.url, '--json'])
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as HostStatusReport
    assert.ok(report.pds.seq !== null && report.pds.seq > 0 && report.pds.seq < 100_000, report.pds.seqSource)
    assert.deepEqual(report.relays[0].accountLimit, { accounts: 2, throttled: 2, probes: report.relays[0].accountLimit!.probes })
    assert.match(res.stderr, new RegExp(`is seq 100000, past the PDS's latest seq ${report.pds.seq} \\(by ${100_000 - report.pds.seq!}\\)`))
    assert.match(res.stderr, /limits localhost to 2 accounts: the 2 newest active accounts are throttled there/)
    assert.deepEqual(r.credentialLeaks, [])
  })
})
