// relayAccounts over many listRepos pages (the command's tests, test/commands/relay/accounts.test.ts,
// run against the real PDS's 30 accounts: one page): every account once, in the PDS's order,
// each relay's view and tallies, and a bounded run: the relays are never asked about more
// accounts than the window beyond those already handed over, and listRepos is read at most a
// page ahead. Against a listRepos server in the lexicon's shape and two relay stand-ins, one slow.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { relayAccounts } from '../../../src/lib/federation/relayAccounts.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { json, startRecorder, type Recorder } from '../../helpers/recorder.js'
import { startRelay, type RelayStandIn } from '../../bed/relay.js'

const TOTAL = 230
const PAGE = 40
const CONCURRENCY = 3
const did = (i: number) => `did:plc:${String(i).padStart(24, 'a')}`
const rev = '3mabcdefghijk'
/** Every 11th account is taken down here (inactive-here); the relays throttle from account 150 on. */
const activeHere = (i: number) => i % 11 !== 5

let pdsServer: Recorder
let pds: PdsClient
const relays: RelayStandIn[] = []
const clients: PdsClient[] = []

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
  for (const delayMs of [0, 5]) {
    const relay = await startRelay()
    relay.repoStatus.delayMs = delayMs
    for (let i = 0; i < TOTAL; i++) relay.repos[did(i)] = i < 150 ? { active: true, rev } : { active: false, status: 'throttled' }
    relays.push(relay)
    clients.push(new PdsClient({ target: directTarget(relay.url), timeoutMs: 10_000 }))
  }
})
after(async () => {
  await pds.close()
  for (const c of clients) await c.close()
  await pdsServer.close()
  for (const r of relays) await r.close()
})

const asked = (r: RelayStandIn) => r.requests.filter((q) => q.url.startsWith('/xrpc/com.atproto.sync.getRepoStatus')).length
const listings = () => pdsServer.requests.filter((q) => q.url.startsWith('/xrpc/com.atproto.sync.listRepos')).length

test('every account once, in order, over many pages; no more accounts under way than the window', async () => {
  const run = relayAccounts(pds, clients, { pageSize: PAGE, concurrency: CONCURRENCY })
  const seen: string[] = []
  // Accounts some relay was asked about beyond those every relay has answered: what the run
  // holds under way (sampled as it goes). A whole page queued at once would be up to PAGE.
  let maxAhead = 0
  const sample = () => (maxAhead = Math.max(maxAhead, Math.max(...relays.map(asked)) - Math.min(...relays.map((r) => r.repoStatusLog.length))))
  const sampler = setInterval(sample, 1)
  try {
    for await (const rows of run.rows) {
      sample()
      for (const row of rows) {
        seen.push(row.did)
        assert.equal(row.relays.length, 2)
        const i = seen.length - 1
        const want = !activeHere(i) ? 'inactive-here' : i < 150 ? 'in-sync' : 'throttled'
        assert.deepEqual(
          row.relays.map((v) => [v.relay, v.state]),
          clients.map((c) => [c.url, want]),
          row.did,
        )
      }
      assert.ok(listings() <= Math.ceil(seen.length / PAGE) + 2, `listRepos read ${listings()} pages with ${seen.length} accounts handed over`)
    }
  } finally {
    clearInterval(sampler)
  }
  assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, i) => did(i)))
  assert.ok(maxAhead <= 2 * CONCURRENCY, `asked about ${maxAhead} accounts ahead of those every relay answered`)
  for (const r of relays) {
    assert.equal(asked(r), TOTAL)
    assert.ok(r.maxInFlight <= CONCURRENCY, `${r.maxInFlight} in flight`)
  }
  const inactive = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !activeHere(i)).length
  const throttled = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => activeHere(i) && i >= 150).length
  for (const t of run.tallies) {
    assert.equal(t.counts['inactive-here'], inactive)
    assert.equal(t.counts.throttled, throttled)
    assert.equal(t.counts['in-sync'], TOTAL - inactive - throttled)
    assert.equal(t.stopped, null)
  }
})
