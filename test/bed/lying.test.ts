// The lying server passes what it is not told to lie about, rewrites what it is, answers
// without the real server when asked, and sees the request's headers (so a lie can echo them).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startLyingServer, type LyingServer } from './lying.js'
import { json, startRecorder, type Recorder } from '../helpers/recorder.js'

describe('lying server', () => {
  let upstream: Recorder
  let lying: LyingServer
  before(async () => {
    upstream = await startRecorder((req, res) => json(res, 200, { repos: [{ did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', head: 'h', rev: 'r', active: true }], path: req.url }))
    lying = await startLyingServer({ upstream: upstream.url })
  })
  after(async () => {
    await lying.close()
    await upstream.close()
  })

  test('passes through, rewrites, answers alone, and forgets', async () => {
    const get = async () => (await (await fetch(`${lying.url}/xrpc/com.atproto.sync.listRepos?limit=5`, { headers: { authorization: 'Basic c2VjcmV0' } })).json()) as { repos: Array<{ did: string }> }
    assert.deepEqual(await get(), { repos: [{ did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', head: 'h', rev: 'r', active: true }], path: '/xrpc/com.atproto.sync.listRepos?limit=5' })
    lying.lie('com.atproto.sync.listRepos', (real, req) => ({ json: { ...(real.json as object), repos: [{ did: 'did:plc:/../../x', rev: req.headers.authorization }] } }))
    assert.deepEqual((await get()).repos, [{ did: 'did:plc:/../../x', rev: 'Basic c2VjcmV0' }])
    const seen = upstream.requests.length
    lying.answer('/xrpc/com.atproto.sync.listRepos', () => ({ status: 400, json: { error: 'Lie', message: '\u001b[2J' } }))
    const res = await fetch(`${lying.url}/xrpc/com.atproto.sync.listRepos`)
    assert.equal(res.status, 400)
    assert.deepEqual(await res.json(), { error: 'Lie', message: '\u001b[2J' })
    assert.equal(upstream.requests.length, seen, 'an answer does not ask the real server')
    // An answer may ask the real server itself, with the query changed (a lie about one account told with another's data).
    lying.answer('com.atproto.sync.listRepos', async (req) => {
      const real = await lying.forward(req, new URLSearchParams({ limit: '7' }))
      return { status: real.status, json: { ...(real.json as object), asked: req.query.get('limit') } }
    })
    const told = (await get()) as unknown as { path: string; asked: string }
    assert.equal(told.path, '/xrpc/com.atproto.sync.listRepos?limit=7')
    assert.equal(told.asked, '5')
    lying.clear()
    assert.equal((await get()).repos[0].did, 'did:plc:ewvi7nxzyoun6zhxrhs64oiz')
    assert.equal(lying.requests.at(-1)?.nsid, 'com.atproto.sync.listRepos')
  })
})
