// listInvites' pagination guards. A getInviteCodes that repeats a cursor or sends the same
// page again is something a real PDS will not do on demand: a loopback server speaking the
// lexicon's shapes plays it. (Normal paging against the real PDS: test/commands/invite.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { listInvites } from '../../../src/lib/admin/invites.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { PdsctlError } from '../../../src/lib/errors.js'
import { json, startRecorder } from '../../helpers/recorder.js'

const code = (c: string) => ({ code: c, available: 1, disabled: false, forAccount: 'admin', createdBy: 'admin', createdAt: '2026-01-01T00:00:00.000Z', uses: [] })

async function listWith(page: (n: number) => unknown) {
  let n = 0
  const srv = await startRecorder((_req, res) => json(res, 200, page(n++)))
  const client = new PdsClient({ target: directTarget(srv.url), adminPassword: async () => 'admin-password-of-a-fake-pds', timeoutMs: 5000 })
  const seen: string[] = []
  try {
    for await (const rows of listInvites(client, { pageSize: 2 })) seen.push(...rows.map((r) => r.code))
    return { seen, pages: n }
  } catch (err) {
    return { seen, pages: n, err }
  } finally {
    await client.close()
    await srv.close()
  }
}

test('pages until the cursor runs out; each code once', async () => {
  const r = await listWith((n) => (n < 3 ? { codes: [code(`c${2 * n}`), code(`c${2 * n + 1}`)], cursor: `k${n}` } : { codes: [] }))
  assert.equal(r.err, undefined)
  assert.deepEqual(r.seen, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'])
})

test('a repeated cursor ends the listing with one error naming getInviteCodes', async () => {
  const r = await listWith((n) => ({ codes: [code(`c${2 * n}`), code(`c${2 * n + 1}`)], cursor: `k${n % 2}` }))
  assert.ok(r.err instanceof PdsctlError)
  assert.equal(r.err.exitCode, 1)
  assert.match(r.err.line, /^the PDS answered com\.atproto\.admin\.getInviteCodes with the cursor "k0" a second time; stopped/)
  assert.equal(r.pages, 3)
})

test('the same page under ever new cursors ends the listing too', async () => {
  const r = await listWith((n) => ({ codes: [code('a'), code('b')], cursor: `k${n}` }))
  assert.ok(r.err instanceof PdsctlError)
  assert.match(r.err.line, /^the PDS answered com\.atproto\.admin\.getInviteCodes with a page of codes it had already sent \(cursor "k0"\); stopped/)
  assert.equal(r.pages, 2)
  assert.deepEqual(r.seen, ['a', 'b'])
})
