import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PdsClient, retryAfterMs } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { AuthError, BadResponseError, InterruptedError, NetworkError, PdsctlError, XrpcError } from '../../../src/lib/errors.js'
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

/** The one line a user would see must match. */
async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PdsctlError, String(err))
    assert.match(err.line, re)
    return true
  })
}

describe('PdsClient response contract', () => {
  let srv: Recorder
  let other: Recorder
  let client: PdsClient
  before(async () => {
    srv = await startRecorder()
    other = await startRecorder()
    client = new PdsClient({ target: directTarget(srv.url), adminPassword: async () => 'pw-secret-1', readRetries: 2, timeoutMs: 2000, maxResponseBytes: 1024 * 1024 })
  })
  after(async () => {
    await client.close()
    await srv.close()
    await other.close()
  })
  const loginPage = '<!doctype html><html><head><title>Sign in ・ Cloudflare Access</title></head><body>pw-secret-1</body></html>'

  test('a write answered 200 with a login page is an error that names it, never a success', async () => {
    srv.setHandler((_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(loginPage))
    await assert.rejects(
      client.procedure('com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: 'did:plc:abc' }, takedown: { applied: true } }, 'admin'),
      (err: unknown) => {
        assert.ok(err instanceof BadResponseError, String(err))
        assert.equal(err.exitCode, 1)
        assert.match(err.line, /HTTP 200 with an answer that is not JSON \(text\/html: page titled "Sign in ・ Cloudflare Access"\)/)
        assert.match(err.line, /login page or proxy.*Nothing was changed/)
        assert.doesNotMatch(err.line, /pw-secret-1/)
        return true
      },
    )
  })

  test('a procedure without output answered 200 HTML is an error too (deleteAccount)', async () => {
    srv.setHandler((_q, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage))
    await assert.rejects(client.procedure('com.atproto.admin.deleteAccount', { did: 'did:plc:abc' }, 'admin'), BadResponseError)
    srv.setHandler((_q, res) => res.writeHead(200).end())
    await client.procedure('com.atproto.admin.deleteAccount', { did: 'did:plc:abc' }, 'admin')
  })

  test('invalid JSON and missing fields are named', async () => {
    srv.setHandler((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"repos": [ oops'))
    await rejectsWith(client.query('com.atproto.sync.listRepos', {}), /listRepos: 127\.0\.0\.1:\d+ answered HTTP 200 with an answer that is not JSON/)
    srv.setHandler((_q, res) => json(res, 200, { cursor: 'x' }))
    await rejectsWith(client.query('com.atproto.sync.listRepos', {}), /the PDS answered com\.atproto\.sync\.listRepos without repos/)
    srv.setHandler((_q, res) => json(res, 200, { infos: null }))
    await rejectsWith(client.query('com.atproto.admin.getAccountInfos', { dids: ['did:plc:a'] }, 'admin'), /without infos/)
    srv.setHandler((_q, res) => json(res, 200, { infos: [{ handle: 'a.test' }] }))
    await rejectsWith(client.query('com.atproto.admin.getAccountInfos', { dids: ['did:plc:a'] }, 'admin'), /without infos\[0\]\.did/)
    srv.setHandler((_q, res) => json(res, 200, { repos: 'nope' }))
    await rejectsWith(client.query('com.atproto.sync.listRepos', {}), /without repos \(not an array\)/)
    srv.setHandler((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end())
    await rejectsWith(client.query('com.atproto.sync.listRepos', {}), /with an empty answer/)
  })

  test('a redirect is never followed: the error names the status and the other origin', async () => {
    srv.requests.length = 0
    other.requests.length = 0
    srv.setHandler((_q, res) => res.writeHead(302, { location: `${other.url}/cdn-cgi/access/login` }).end())
    await assert.rejects(client.query('com.atproto.admin.getAccountInfo', { did: 'did:plc:a' }, 'admin'), (err: unknown) => {
      assert.ok(err instanceof BadResponseError)
      assert.match(err.line, new RegExp(`HTTP 302, a redirect to ${other.url.replace(/[.]/g, '\\.')} \\(not followed\\)\\. A login proxy`))
      return true
    })
    assert.equal(srv.requests.length, 1)
    assert.equal(other.requests.length, 0, 'nothing, and no credential, went to the Location')
  })

  test('401 or 403 without an XRPC body: exit 3, the password or a proxy login', async () => {
    srv.setHandler((_q, res) => res.writeHead(401, { 'content-type': 'text/html' }).end(loginPage))
    await assert.rejects(client.query('com.atproto.admin.getAccountInfo', { did: 'did:plc:a' }, 'admin'), (err: unknown) => {
      assert.ok(err instanceof AuthError)
      assert.equal(err.exitCode, 3)
      assert.match(err.line, /HTTP 401 .* without an XRPC error .*admin password was rejected, or a proxy in front of the PDS demands its own login/)
      assert.doesNotMatch(err.line, /pw-secret-1/)
      return true
    })
  })

  test('a body over the cap is refused, with or without Content-Length', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20)
    srv.setHandler((_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': big.length }).end(big))
    await rejectsWith(client.query('com.atproto.sync.listRepos', {}), /larger than 1 MiB.*--max-response-mb/)
    srv.setHandler((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(big.subarray(0, 800_000))
      setTimeout(() => res.end(big.subarray(800_000)), 20)
    })
    await rejectsWith(client.query('com.atproto.sync.listRepos', {}), /larger than 1 MiB/)
  })

  test('--timeout is a deadline from start to last byte: a body trickling at 1 byte per 100 ms is cut off', async () => {
    srv.setHandler((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const t = setInterval(() => (res.writableEnded || res.destroyed ? clearInterval(t) : res.write(' ')), 100)
      res.on('close', () => clearInterval(t))
    })
    const started = Date.now()
    await assert.rejects(client.query('com.atproto.sync.getRepoStatus', { did: 'did:plc:a' }), (err: unknown) => {
      assert.ok(err instanceof NetworkError)
      assert.match(err.line, /did not answer within 2 s/)
      return true
    })
    // Retries of a read each get a deadline, but a deadline is not retried.
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`)
  })

  test('an interruption aborts a request in flight at once', async () => {
    const ac = new AbortController()
    const c = new PdsClient({ target: directTarget(srv.url), timeoutMs: 60_000, signal: ac.signal })
    srv.setHandler(() => {}) // never answers
    const started = Date.now()
    setTimeout(() => ac.abort(new InterruptedError('SIGTERM')), 100)
    await assert.rejects(c.query('com.atproto.sync.listRepos', {}), (err: unknown) => {
      assert.ok(err instanceof InterruptedError)
      assert.equal(err.exitCode, 143)
      return true
    })
    assert.ok(Date.now() - started < 1000)
    await c.close()
  })

  test('429: a short Retry-After on a read is honoured; a long one is reported with when to retry', async () => {
    let n = 0
    srv.setHandler((_q, res) => {
      if (n++ === 0) return res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}')
      json(res, 200, { did: 'did:plc:a', active: true })
    })
    const t0 = Date.now()
    assert.deepEqual(await client.query('com.atproto.sync.getRepoStatus', { did: 'did:plc:a' }), { did: 'did:plc:a', active: true })
    assert.ok(Date.now() - t0 >= 900)
    srv.setHandler((_q, res) => res.writeHead(429, { 'retry-after': '120', 'content-type': 'application/json' }).end('{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}'))
    await rejectsWith(client.query('com.atproto.sync.getRepoStatus', { did: 'did:plc:a' }), /rate limited by .*RateLimitExceeded.*Retry after 120 s/)
  })

  test('retryAfterMs reads Retry-After seconds, a date, and the PDS\'s RateLimit-Reset', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    assert.equal(retryAfterMs({ 'retry-after': '3' }, now), 3000)
    assert.equal(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now), 5000)
    assert.equal(retryAfterMs({ 'ratelimit-reset': String(now / 1000 + 7) }, now), 7000)
    assert.equal(retryAfterMs({}, now), undefined)
  })
})
