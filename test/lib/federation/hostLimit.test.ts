// The account-limit bisection over many shapes (limits at page edges, none, all, inactive
// accounts in between), against a listRepos server in the lexicon's shape and the relay
// stand-in. The same against the real PDS: test/commands/relay/status.test.ts.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { emptyIndex, findAccountLimit, indexPage } from '../../../src/lib/federation/hostLimit.js'
import { listRepoPages } from '../../../src/lib/federation/repoPages.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { json, startRecorder, type Recorder } from '../../helpers/recorder.js'
import { startRelay, type RelayStandIn, type RepoState } from '../../bed/relay.js'

const TOTAL = 57
const did = (i: number) => `did:plc:${String(i).padStart(24, 'a')}`
/** Every 7th account is taken down here: not counted, never probed as a limit edge. */
const activeHere = (i: number) => i % 7 !== 3
const rev = '3mabcdefghijk'

let pdsServer: Recorder
let pds: PdsClient
let relay: RelayStandIn
let relayClient: PdsClient

before(async () => {
  pdsServer = await startRecorder((req, res) => {
    const url = new URL(req.url, 'http://x')
    const start = url.searchParams.has('cursor') ? Number(url.searchParams.get('cursor')) : 0
    const end = Math.min(TOTAL, start + Number(url.searchParams.get('limit')))
    const repos = Array.from({ length: end - start }, (_, k) => {
      const i = start + k
      return activeHere(i) ? { did: did(i), head: 'bafyreib2rxk3rh6kzwq', rev, active: true } : { did: did(i), head: 'bafyreib2rxk3rh6kzwq', rev, active: false, status: 'takendown' }
    })
    json(res, 200, end > start ? { repos, cursor: String(end) } : { repos })
  })
  pds = new PdsClient({ target: directTarget(pdsServer.url), timeoutMs: 10_000 })
  relay = await startRelay()
  relayClient = new PdsClient({ target: directTarget(relay.url), timeoutMs: 10_000 })
})
after(async () => {
  await pds.close()
  await relayClient.close()
  await pdsServer.close()
  await relay.close()
})

const actives = Array.from({ length: TOTAL }, (_, i) => i).filter(activeHere)

function limitAt(limit: number): void {
  for (const k of Object.keys(relay.repos)) delete relay.repos[k]
  for (let i = 0; i < TOTAL; i++) {
    const n = actives.indexOf(i)
    const r: RepoState = n === -1 ? { active: false, status: 'takendown' } : n < limit ? { active: true, rev } : { active: false, status: 'throttled' }
    relay.repos[did(i)] = r
  }
}

for (const pageSize of [4, 7, 1000]) {
  test(`page size ${pageSize}: the limit is found wherever it cuts in, in about log2(accounts) probes`, async () => {
    const index = emptyIndex(pageSize)
    for await (const page of listRepoPages(pds, { pageSize })) indexPage(index, page.cursor, page.repos)
    assert.equal(index.active, actives.length)
    const pages = index.pages.length
    const bound = 1 + Math.ceil(Math.log2(pages + 1)) + Math.ceil(Math.log2(Math.min(pageSize, TOTAL) + 1))
    for (const limit of [0, 1, 2, 3, 4, 5, 8, 13, 27, actives.length - 1]) {
      limitAt(limit)
      const before = relay.repoStatusLog.length
      const found = await findAccountLimit(pds, relayClient, index)
      assert.ok(found, `limit ${limit} found`)
      assert.equal(found.accounts, limit, `page size ${pageSize}, limit ${limit}`)
      assert.equal(found.throttled, actives.length - limit)
      assert.equal(found.probes, relay.repoStatusLog.length - before)
      assert.ok(found.probes <= bound, `${found.probes} probes for limit ${limit} (bound ${bound})`)
    }
    limitAt(actives.length)
    assert.equal(await findAccountLimit(pds, relayClient, index), null, 'no limit reached: one probe, null')
  })
}

test('a relay that does not answer a probe is an error, not a guess', async () => {
  const index = emptyIndex(1000)
  for await (const page of listRepoPages(pds)) indexPage(index, page.cursor, page.repos)
  limitAt(10)
  relay.repoStatus.failWith = 'xrpc-500'
  try {
    await assert.rejects(findAccountLimit(pds, relayClient, index), /InternalServerError: Internal Server Error \(HTTP 500\)/)
  } finally {
    relay.repoStatus.failWith = undefined
  }
})

test("the fix for bsky.network's limit names how Bluesky asks operators to request a raise; another relay's names goat", async () => {
  const { hostAdvice } = await import('../../../src/lib/federation/relays.js')
  const row = (relayUrl: string) => ({ relay: relayUrl, ok: true, known: true, status: 'active', accountCount: 120, seq: 5, seqBehind: 0, accountLimit: { accounts: 100, throttled: 20, probes: 9 }, accountLimitError: null, error: null })
  for (const url of ['https://bsky.network', 'https://relay1.us-west.bsky.network']) {
    const [advice] = hostAdvice(row(url), 'pds.example.com')
    assert.equal(advice.problem, `${url} limits pds.example.com to 100 accounts: the 20 newest active accounts are throttled there (created after the first 100; the relay counts 120 accounts for this host), so nothing they post reaches the network`)
    assert.match(advice.fix, /^Ask Bluesky to raise it: bsky\.network allows 100 accounts per new host/)
    assert.match(advice.fix, /https:\/\/github\.com\/bluesky-social\/pds\/issues titled "Relay throttle reset request: pds\.example\.com"/)
    assert.ok(advice.fix.endsWith(`\`pdsctl relay accounts --relay ${url} --problem throttled --output did\``), advice.fix)
  }
  const [other] = hostAdvice(row('https://relay.example.org'), 'pds.example.com')
  assert.match(other.fix, /`RELAY_HOST=https:\/\/relay\.example\.org goat relay admin host config --account-limit N pds\.example\.com`/)
  // A look-alike host is not Bluesky's.
  assert.doesNotMatch(hostAdvice(row('https://evilbsky.network'), 'pds.example.com')[0].fix, /Ask Bluesky/)
})

test('a host-limit check that failed is said (a warning), not left to --json: silence would read as "no limit"', async () => {
  const { hostAdvice } = await import('../../../src/lib/federation/relays.js')
  const row = { relay: 'https://relay.example.org', ok: true, known: true, status: 'active', accountCount: 120, seq: 5, seqBehind: 0, accountLimit: null, accountLimitError: 'getRepoStatus: InternalServerError (HTTP 500)', error: null }
  const advice = hostAdvice(row, 'pds.example.com')
  assert.equal(advice.length, 1)
  assert.equal(advice[0].severity, 'warn')
  assert.equal(advice[0].problem, "could not check whether https://relay.example.org limits pds.example.com's accounts: getRepoStatus: InternalServerError (HTTP 500)")
  assert.match(advice[0].fix, /`pdsctl relay accounts --relay https:\/\/relay\.example\.org --problem throttled`/)
  assert.deepEqual(hostAdvice({ ...row, accountLimitError: null }, 'pds.example.com'), [])
})
