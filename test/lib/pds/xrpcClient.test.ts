import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { AuthError, NetworkError, XrpcError } from '../../../src/lib/errors.js'
import { json, startRecorder, type Recorder } from '../../helpers/recorder.js'
import { startTestBed, type TestBed } from '../../bed/pds.js'

describe('PdsClient on the wire', () => {
  let srv: Recorder
  let client: PdsClient
  before(async () => {
    srv = await startRecorder()
    client = new PdsClient({ target: directTarget(srv.url), adminPassword: async () => 'pa:ss:word', readRetries: 2 })
  })
  after(async () => {
    await client.close()
    await srv.close()
  })

  test('a procedure without input goes with Content-Type JSON, an empty body and Content-Length: 0', async () => {
    srv.requests.length = 0
    srv.setHandler((_q, res) => res.writeHead(200).end())
    await client.procedure('com.atproto.server.requestEmailConfirmation', undefined, { bearer: 'tok' })
    const [req] = srv.requests
    assert.equal(req.method, 'POST')
    assert.equal(req.headers['content-type'], 'application/json')
    assert.equal(req.headers['content-length'], '0')
    assert.equal(req.headers['transfer-encoding'], undefined)
    assert.equal(req.body, '')
    assert.equal(req.headers.authorization, 'Bearer tok')
  })

  test('a procedure with input sends JSON; admin auth is Basic admin:<password> (colons kept)', async () => {
    srv.requests.length = 0
    srv.setHandler((_q, res) => json(res, 200, { codes: [] }))
    await client.procedure('com.atproto.server.createInviteCodes', { codeCount: 2, useCount: 1 }, 'admin')
    const [req] = srv.requests
    assert.deepEqual(JSON.parse(req.body), { codeCount: 2, useCount: 1 })
    assert.equal(req.headers['content-length'], String(Buffer.byteLength(req.body)))
    assert.equal(req.headers.authorization, 'Basic ' + Buffer.from('admin:pa:ss:word').toString('base64'))
  })

  test('query params: arrays repeat the key', async () => {
    srv.requests.length = 0
    srv.setHandler((_q, res) => json(res, 200, { infos: [] }))
    await client.query('com.atproto.admin.getAccountInfos', { dids: ['did:plc:a', 'did:plc:b'] }, 'admin')
    assert.equal(srv.requests[0].url, '/xrpc/com.atproto.admin.getAccountInfos?dids=did%3Aplc%3Aa&dids=did%3Aplc%3Ab')
  })

  test('a proxy 502 page (HTML, not XRPC) on a read is retried, then reported as such', async () => {
    srv.requests.length = 0
    srv.setHandler((_q, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>'))
    await assert.rejects(client.query('com.atproto.sync.listRepos', {}, 'none'), (err: unknown) => {
      assert.ok(err instanceof XrpcError)
      assert.equal(err.status, 502)
      assert.match(err.line, /HTTP 502 from 127\.0\.0\.1:\d+ without an XRPC error body.*proxy or tunnel/)
      return true
    })
    assert.equal(srv.requests.length, 3, 'one try and two retries')
  })

  test('a read that hits a reset connection is retried and succeeds', async () => {
    srv.requests.length = 0
    let n = 0
    srv.setHandler((_q, res) => {
      if (n++ === 0) res.socket?.destroy()
      else json(res, 200, { repos: [] })
    })
    const out = await client.query('com.atproto.sync.listRepos', {}, 'none')
    assert.deepEqual(out.repos, [])
    assert.equal(srv.requests.length, 2)
  })

  test('a write that hits a reset connection is not retried', async () => {
    srv.requests.length = 0
    srv.setHandler((_q, res) => res.socket?.destroy())
    await assert.rejects(client.procedure('com.atproto.server.createInviteCodes', { codeCount: 1, useCount: 1 }, 'admin'), (err: unknown) => {
      assert.ok(err instanceof NetworkError)
      assert.match(err.line, /connection to http:\/\/127\.0\.0\.1:\d+ was reset/)
      return true
    })
    assert.equal(srv.requests.length, 1)
  })

  test('401 on an admin call is an AuthError that never quotes the password', async () => {
    srv.setHandler((_q, res) => json(res, 401, { error: 'AuthenticationRequired', message: 'Authentication Required' }))
    await assert.rejects(client.query('com.atproto.admin.getAccountInfo', { did: 'did:plc:x' }, 'admin'), (err: unknown) => {
      assert.ok(err instanceof AuthError)
      assert.equal(err.exitCode, 3)
      assert.ok(!err.line.includes('pa:ss:word'))
      return true
    })
  })

  test('credentials never go to another origin', async () => {
    const other = await startRecorder((_q, res) => json(res, 200, {}))
    try {
      await client.call({ method: 'GET', path: `${other.url}/xrpc/com.atproto.sync.getHostStatus`, auth: 'admin' })
      assert.equal(other.requests.length, 1)
      assert.equal(other.requests[0].headers.authorization, undefined)
    } finally {
      await other.close()
    }
  })
})

describe('PdsClient against the real PDS', () => {
  let bed: TestBed
  before(async () => {
    bed = await startTestBed()
  })
  after(() => bed.close())

  test('the PDS accepts our body-less procedure (and rejects a `{}` body, which we never send)', async () => {
    const [acct] = await bed.seed(1)
    const client = new PdsClient({ target: directTarget(bed.url) })
    try {
      const s = await client.procedure('com.atproto.server.createSession', { identifier: acct.handle, password: acct.password })
      await client.procedure('com.atproto.server.requestEmailConfirmation', undefined, { bearer: s.accessJwt })
      await bed.mail.waitFor(acct.email)
      // The trap the client avoids: a `{}` body on a no-input procedure.
      const res = await fetch(`${bed.url}/xrpc/com.atproto.server.requestEmailConfirmation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessJwt}` },
        body: '{}',
      })
      assert.equal(res.status, 400)
      assert.match(((await res.json()) as { message: string }).message, /A request body was provided when none was expected/)
    } finally {
      await client.close()
    }
  })
})
