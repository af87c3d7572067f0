// The listing pipeline's scheduling, observed on a loopback server that speaks the
// lexicons' shapes and answers slowly on purpose (a real PDS cannot be made to hold each
// answer, which is what shows the pool and the fetch-ahead). Correctness of the rows
// against the real PDS: test/commands/account/list.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { listAccounts } from '../../../src/lib/admin/accounts.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { json, startRecorder } from '../../helpers/recorder.js'

const did = (i: number) => `did:plc:${String(i).padStart(24, 'a')}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function fakePds(total: number, delayMs: number) {
  const stats = { inFlightInfos: 0, maxInFlightInfos: 0, listRepos: 0, infos: 0 }
  const srv = await startRecorder(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/xrpc/com.atproto.sync.listRepos') {
      stats.listRepos++
      const start = url.searchParams.has('cursor') ? Number(url.searchParams.get('cursor')) : 0
      const end = Math.min(total, start + Number(url.searchParams.get('limit')))
      const repos = Array.from({ length: end - start }, (_, k) => ({ did: did(start + k), head: 'bafyreib2rxk3rh6kzwq', rev: '3l', active: true }))
      return json(res, 200, end > start ? { repos, cursor: String(end) } : { repos })
    }
    stats.infos++
    stats.maxInFlightInfos = Math.max(stats.maxInFlightInfos, ++stats.inFlightInfos)
    await sleep(delayMs)
    stats.inFlightInfos--
    const infos = url.searchParams.getAll('dids').map((d) => ({ did: d, handle: `${d.slice(-4)}.test`, email: `${d.slice(-4)}@example.com`, indexedAt: '2026-01-01T00:00:00.000Z' }))
    json(res, 200, { infos })
  })
  const client = new PdsClient({ target: directTarget(srv.url), adminPassword: async () => 'admin-password-of-a-fake-pds', timeoutMs: 10_000 })
  return { stats, client, close: async () => (await client.close(), await srv.close()) }
}

test('rows in listRepos order; all pages share one pool of `concurrency` getAccountInfos calls', async () => {
  const pds = await fakePds(230, 15)
  try {
    const dids: string[] = []
    for await (const chunk of listAccounts(pds.client, { pageSize: 50, batchSize: 10, concurrency: 3 })) {
      assert.ok(chunk.length <= 10)
      dids.push(...chunk.map((a) => a.did))
    }
    assert.deepEqual(dids, Array.from({ length: 230 }, (_, i) => did(i)))
    assert.equal(pds.stats.maxInFlightInfos, 3, 'the pool is full across page boundaries, and never wider')
    assert.equal(pds.stats.infos, 23)
  } finally {
    await pds.close()
  }
})

test("pages are fetched ahead while fewer accounts than a page and a pool's worth wait beyond what the consumer has taken", async () => {
  const pds = await fakePds(1000, 5)
  try {
    const it = listAccounts(pds.client, { pageSize: 20, batchSize: 10, concurrency: 2 })
    await it.next()
    await sleep(300)
    // The first page (20), the consumer takes 10; then pages while fewer than 20 + 2 × 10
    // accounts wait: 10 → 30 → 50. Bounded in accounts, so memory is flat (bench/: peak RSS).
    assert.equal(pds.stats.listRepos, 3, `listRepos calls while the consumer waits: ${pds.stats.listRepos}`)
    await it.return(undefined)
    const after = { ...pds.stats }
    await sleep(200)
    assert.equal(pds.stats.listRepos, after.listRepos, 'no page is fetched after the consumer stopped')
    assert.ok(pds.stats.infos <= after.infos + 2, 'at most the batches already in flight finish')
  } finally {
    await pds.close()
  }
})
