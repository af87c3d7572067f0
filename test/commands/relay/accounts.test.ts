// `pdsctl relay accounts` against the real test-bed PDS (both lines) and stand-in relays
// (test/bed/relay.ts) scripted per test: a host limit with the accounts past it throttled,
// accounts unknown, behind, taken down at the relay, a malformed rev, a relay answering 429,
// one failing and one down. Every relay flags any credential it is sent.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startRelay, type RelayStandIn, type RepoState } from '../../bed/relay.js'
import { startTestBed, xrpc, type PdsLine, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { startLyingServer } from '../../bed/lying.js'
import { runCli } from '../../helpers/cli.js'
import type { RelayAccountsReport } from '../../../src/commands/relay/accounts.js'

const ADMIN = 'relay-accounts-admin-secret'

/** The PDS's accounts in its own order (creation), with their current revs. */
async function listed(bed: TestBed): Promise<Array<{ did: string; rev: string; active: boolean }>> {
  const res = await fetch(`${bed.url}/xrpc/com.atproto.sync.listRepos?limit=1000`)
  return ((await res.json()) as { repos: Array<{ did: string; rev: string; active: boolean }> }).repos
}

async function post(bed: TestBed, a: SeededAccount, text: string): Promise<string> {
  const session = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: a.did, password: a.password })
  const res = await fetch(`${bed.url}/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessJwt}` },
    body: JSON.stringify({ repo: a.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() } }),
  })
  assert.equal(res.status, 200)
  return ((await (await fetch(`${bed.url}/xrpc/com.atproto.sync.getLatestCommit?did=${a.did}`)).json()) as { rev: string }).rev
}

describe('pdsctl relay accounts (PDS 0.5.x)', () => {
  let bed: TestBed
  let accounts: SeededAccount[]
  let order: Array<{ did: string; rev: string; active: boolean }>
  const relays: RelayStandIn[] = []
  const relay = async (repos: Record<string, RepoState> = {}) => {
    const r = await startRelay({ repos, secrets: [ADMIN] })
    relays.push(r)
    return r
  }
  /** Every account in sync at the relay (a copy the test may change). */
  const inSync = () => Object.fromEntries(order.map((a) => [a.did, { active: true, rev: a.rev } as RepoState]))
  let oldRev: string
  let writer: SeededAccount
  const LIMIT = 20

  before(async () => {
    bed = await startTestBed({ adminPassword: ADMIN })
    accounts = await bed.seed(30, 'ra')
    writer = accounts[0]
    oldRev = await post(bed, writer, 'first')
    await post(bed, writer, 'second')
    order = await listed(bed)
    assert.equal(order.length, 30)
  })
  after(async () => {
    for (const r of relays.splice(0)) {
      assert.deepEqual(r.credentialLeaks, [], `${r.url} was sent a credential`)
      await r.close()
    }
    await bed.close()
  })

  test('a host limit: the accounts past it are throttled, listed in creation order for the request; exit 6', async () => {
    const repos = inSync()
    for (const a of order.slice(LIMIT)) repos[a.did] = { active: false, status: 'throttled' }
    const limited = await relay(repos)
    const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', limited.url, '--problem', 'throttled', '--output', 'did'], { env: { PDS_ADMIN_PASSWORD: ADMIN } })
    assert.equal(res.code, 6, res.stderr)
    assert.deepEqual(res.stdout.trim().split('\n'), order.slice(LIMIT).map((a) => a.did))
    assert.match(res.stderr, new RegExp(`^${limited.url}: 30 accounts: 20 in-sync, 10 throttled$`, 'm'))
    assert.match(res.stderr, /^throttled \(10\): the relay limits this host's accounts: see `pdsctl relay status`/m)
    assert.match(res.stderr, /^Error: 10 of 30 active accounts are not active and in sync at the relay$/m)
    // Every account was asked about once; the relay never got a credential (checked in after()).
    assert.equal(limited.repoStatusLog.length, 30)
    assert.ok(limited.requests.every((q) => q.headers.authorization === undefined))
  })

  test('behind (revs compared as TIDs), unknown, taken down at the relay, a malformed rev: each state and its fix', async () => {
    const [a0, a1, a2, a3, a4] = order.filter((a) => a.did !== writer.did)
    const repos = inSync()
    repos[writer.did] = { active: true, rev: oldRev }
    delete repos[a0.did]
    repos[a1.did] = { active: false, status: 'takendown' }
    repos[a2.did] = { active: true, rev: 'not-a-tid' }
    repos[a3.did] = { active: true } // active, but no commit of it at the relay
    repos[a4.did] = { active: false, status: 'desynchronized' }
    const r = await relay(repos)
    const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--grace', '0', '--json'])
    assert.equal(res.code, 6, res.stderr)
    const report = JSON.parse(res.stdout) as RelayAccountsReport
    assert.equal(report.total, 30)
    const state = (did: string) => report.accounts.find((x) => x.did === did)?.relays[0]
    assert.deepEqual(state(writer.did), { relay: r.url, state: 'behind', active: true, status: null, rev: oldRev, error: null })
    assert.equal(report.accounts.find((x) => x.did === writer.did)!.pds.rev, order.find((a) => a.did === writer.did)!.rev)
    assert.equal(state(a0.did)!.state, 'unknown')
    assert.deepEqual([state(a1.did)!.state, state(a1.did)!.status], ['inactive', 'takendown'])
    assert.deepEqual([state(a2.did)!.state, state(a2.did)!.error], ['error', 'com.atproto.sync.getRepoStatus answered a rev that is not a TID'])
    assert.equal(state(a3.did)!.state, 'behind')
    assert.deepEqual([state(a4.did)!.state, state(a4.did)!.status], ['inactive', 'desynchronized'])
    assert.equal(report.accounts.length, 6, 'only the accounts with a problem')
    assert.deepEqual(report.relays, [{ relay: r.url, counts: { 'in-sync': 24, behind: 2, ahead: 0, throttled: 0, unknown: 1, inactive: 2, error: 1, 'inactive-here': 0 }, stopped: null }])

    // Piped text: one row per problem, the state's stable name and its fix; the summary on stderr.
    const text = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--grace', '0'])
    assert.equal(text.code, 6)
    const rows = text.stdout.trim().split('\n').map((l) => l.split('\t'))
    assert.equal(rows.length, 6)
    const row = (did: string) => rows.find((x) => x[0] === did)!
    assert.deepEqual(row(writer.did).slice(1, 6), [r.url, 'behind', '', oldRev, order.find((a) => a.did === writer.did)!.rev])
    assert.equal(row(writer.did)[6], 'relay status; request-crawl')
    assert.deepEqual(row(a0.did).slice(2, 3), ['unknown'])
    assert.equal(row(a0.did)[6], 'request-crawl, then a post')
    assert.match(row(a2.did)[6], /^try again later \(com\.atproto\.sync\.getRepoStatus answered a rev that is not a TID\)$/)
    assert.match(text.stderr, new RegExp(`^${r.url}: 30 accounts: 24 in-sync, 2 behind, 1 unknown, 2 inactive, 1 error$`, 'm'))
    for (const s of ['behind', 'unknown', 'inactive', 'error']) assert.match(text.stderr, new RegExp(`^${s} \\(\\d+\\): `, 'm'))

    // --problem keeps one state; a grace period counts a commit younger than it as in sync
    // (an hour here, so that a slow machine cannot make the commits older than it).
    const unknownOnly = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--grace', '0', '--problem', 'unknown', '--output', 'did'])
    assert.equal(unknownOnly.stdout, `${a0.did}\n`)
    const graced = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--grace', '3600', '--problem', 'behind', '--output', 'did'])
    assert.equal(graced.stdout, '', 'fresh commits are within the grace period')
  })

  test('an account the relay has at a newer rev than the PDS is ahead; one that wrote after the listing is re-read, not ahead', async () => {
    const repos = inSync()
    // A TID far in the future: no commit here can be newer.
    repos[order[3].did] = { active: true, rev: 'jzzzzzzzzzzzz' }
    const r = await relay(repos)
    const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--json'])
    assert.equal(res.code, 6, res.stderr)
    const report = JSON.parse(res.stdout) as RelayAccountsReport
    assert.deepEqual(report.accounts.map((a) => [a.did, a.relays[0].state]), [[order[3].did, 'ahead']])
    assert.match(res.stderr, /^ahead \(1\): the repo here went back/m)
    // The listing is older than what the relay has (the account wrote in between: here a
    // lying server in front of the PDS lists the writer's old rev): getLatestCommit decides.
    const current = order.find((a) => a.did === writer.did)!.rev
    const lying = await startLyingServer({ upstream: bed.url })
    try {
      lying.lie('com.atproto.sync.listRepos', (real) => {
        const body = real.json as { repos: Array<{ did: string; rev: string }> }
        for (const x of body.repos) if (x.did === writer.did) x.rev = oldRev
        return { json: body }
      })
      const r2 = await relay(inSync())
      const ok = await runCli(['relay', 'accounts', '--url', lying.url, '--relay', r2.url, '--all', '--json'])
      assert.equal(ok.code, 0, ok.stderr)
      const row = (JSON.parse(ok.stdout) as RelayAccountsReport).accounts.find((a) => a.did === writer.did)!
      assert.equal(row.pds.rev, current, 'the rev re-read from getLatestCommit')
      assert.equal(row.relays[0].state, 'in-sync')
      assert.equal(lying.requests.filter((q) => q.nsid === 'com.atproto.sync.getLatestCommit').length, 1, 'only that account was re-read')
    } finally {
      await lying.close()
    }
  })

  test('at most --concurrency requests in flight per relay; a 429 pauses the relay for its Retry-After', async () => {
    const wide = await relay(inSync())
    wide.repoStatus.delayMs = 40
    const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', wide.url, '--concurrency', '3'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(wide.maxInFlight, 3)
    // One request at a time, so the relay's log shows what followed each 429.
    const paced = await relay(inSync())
    Object.assign(paced.repoStatus, { rateLimitTimes: 3, retryAfterS: 1 })
    const slow = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', paced.url, '--concurrency', '1', '--json'])
    assert.equal(slow.code, 0, slow.stderr)
    assert.equal((JSON.parse(slow.stdout) as RelayAccountsReport).relays[0].counts['in-sync'], 30)
    const log = paced.repoStatusLog
    assert.equal(log.length, 33)
    for (let i = 0; i < 3; i++) {
      assert.equal(log[i].status, 429)
      assert.ok(log[i + 1].at - log[i].at >= 990, `waited the Retry-After (1 s) after 429 #${i + 1}: ${log[i + 1].at - log[i].at} ms`)
      assert.equal(log[i + 1].did, log[0].did, 'the same account asked again')
    }
    assert.equal(slow.stderr.match(/asked pdsctl to slow down \(429\): pausing it for 1\.0 s/g)?.length, 3)
  })

  test('a relay that keeps failing and one that is down are given up on without hiding the one that answers', async () => {
    const good = await relay(inSync())
    const failing = await relay(inSync())
    failing.repoStatus.failWith = 'xrpc-500'
    const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', good.url, '--relay', failing.url, '--relay', 'http://127.0.0.1:9', '--json'])
    assert.equal(res.code, 6, res.stderr)
    const report = JSON.parse(res.stdout) as RelayAccountsReport
    const [g, f, d] = report.relays
    assert.deepEqual(g, { relay: good.url, counts: { 'in-sync': 30, behind: 0, ahead: 0, throttled: 0, unknown: 0, inactive: 0, error: 0, 'inactive-here': 0 }, stopped: null })
    assert.equal(f.counts.error, 30)
    assert.match(f.stopped!, /^it failed 8 times in a row \(last: com\.atproto\.sync\.getRepoStatus: InternalServerError: Internal Server Error \(HTTP 500\)\)$/)
    assert.equal(d.counts.error, 30)
    assert.match(d.stopped!, /connection refused/)
    // Not one request per account to a relay that keeps failing.
    assert.ok(failing.repoStatusLog.length < 30, String(failing.repoStatusLog.length))
    assert.match(res.stderr, new RegExp(`Warning: stopped asking ${failing.url}: it failed 8 times in a row`))
    const row = report.accounts[0]
    assert.deepEqual(row.relays.map((v) => v.state), ['in-sync', 'error', 'error'])
    assert.match(row.relays[2].error!, /^(not asked: it failed 8 times|cannot connect to the relay)/)
  })

  test('every relay failing is exit 1; every account in sync is exit 0 with nothing on stdout', async () => {
    const down = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', 'http://127.0.0.1:9'])
    assert.equal(down.code, 1, down.stderr)
    assert.match(down.stderr, /^Error: no relay answered getRepoStatus: cannot connect to the relay at http:\/\/127\.0\.0\.1:9 \(connection refused\)/m)
    const r = await relay(inSync())
    const ok = await runCli(['relay', 'accounts', '--url', bed.url], { env: { PDS_CRAWLERS: r.url } })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, '')
    assert.match(ok.stderr, /Every account active here is in sync at the relay\./)
    // --all lists them all, in the PDS's order.
    const all = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--all', '--output', 'did'])
    assert.deepEqual(all.stdout.trim().split('\n'), order.map((a) => a.did))
  })

  test('an account taken down here is inactive-here at every relay and not a failure', async () => {
    const victim = order[7]
    await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: victim.did }, takedown: { applied: true } }, ADMIN)
    try {
      const r = await relay({ ...inSync(), [victim.did]: { active: false, status: 'takendown' } })
      const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, '--all', '--json'])
      assert.equal(res.code, 0, res.stderr)
      const report = JSON.parse(res.stdout) as RelayAccountsReport
      const row = report.accounts.find((a) => a.did === victim.did)!
      assert.deepEqual(row.pds, { active: false, status: 'takendown', rev: victim.rev })
      assert.deepEqual(row.relays[0], { relay: r.url, state: 'inactive-here', active: false, status: 'takendown', rev: null, error: null })
      assert.equal(report.relays[0].counts['inactive-here'], 1)
    } finally {
      await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: victim.did }, takedown: { applied: false } }, ADMIN)
    }
  })

  test('bad input is refused before any request', async () => {
    const r = await relay()
    for (const args of [['--problem', 'nope'], ['--output', 'did', '--json'], ['--all', '--problem', 'behind'], ['--relay', 'ftp://x'], ['--concurrency', '0']]) {
      const res = await runCli(['relay', 'accounts', '--url', bed.url, '--relay', r.url, ...args])
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    }
    assert.equal(r.requests.length, 0)
  })
})

for (const line of ['0.4'] as PdsLine[]) {
  describe(`pdsctl relay accounts (PDS ${line}.x)`, () => {
    let bed: TestBed
    let relayStandIn: RelayStandIn
    before(async () => {
      bed = await startTestBed({ line, adminPassword: ADMIN })
      await bed.seed(6, 'rb')
    })
    after(async () => {
      await relayStandIn?.close()
      await bed.close()
    })

    test('listRepos revs against the relay: in sync, throttled past a limit, unknown', async () => {
      const order = await listed(bed)
      const repos: Record<string, RepoState> = {}
      order.slice(0, 3).forEach((a) => (repos[a.did] = { active: true, rev: a.rev }))
      order.slice(3, 5).forEach((a) => (repos[a.did] = { active: false, status: 'throttled' }))
      relayStandIn = await startRelay({ repos, secrets: [ADMIN] })
      const res = await runCli(['relay', 'accounts', '--relay', relayStandIn.url, '--json'], { env: { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: ADMIN } })
      assert.equal(res.code, 6, res.stderr)
      const report = JSON.parse(res.stdout) as RelayAccountsReport
      assert.deepEqual(report.accounts.map((a) => [a.did, a.relays[0].state]), [...order.slice(3, 5).map((a) => [a.did, 'throttled']), [order[5].did, 'unknown']])
      assert.equal(report.relays[0].counts['in-sync'], 3)
      assert.deepEqual(relayStandIn.credentialLeaks, [])
    })
  })
}
