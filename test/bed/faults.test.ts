// The fault server does what each mode says (so the fault suite cannot pass by accident
// against a server that never broke anything), passes everything else through, and ends
// every connection on close().
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { ENDLESS_CURSOR, ENDLESS_CURSOR_LIMIT, OVERSIZED_BYTES, startFaultServer, type FaultMode, type FaultServer } from './faults.js'
import { json, startRecorder, type Recorder } from '../helpers/recorder.js'

describe('fault server', () => {
  let upstream: Recorder
  const servers: FaultServer[] = []
  before(async () => {
    upstream = await startRecorder((req, res) => {
      const url = new URL(req.url, 'http://x')
      if (url.pathname === '/xrpc/com.atproto.sync.listRepos') return json(res, 200, { repos: [{ did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', head: 'h', rev: 'r', active: true }] })
      json(res, 200, { ok: true, path: url.pathname })
    })
  })
  after(async () => {
    for (const s of servers) await s.close()
    await upstream.close()
  })
  const start = async (mode: FaultMode, path = 'com.atproto.sync.listRepos') => {
    const s = mode === 'refused' || mode === 'tls-self-signed' ? await startFaultServer({ upstream: upstream.url, mode }) : await startFaultServer({ upstream: upstream.url, paths: { [path]: mode } })
    servers.push(s)
    return s
  }
  const listRepos = (s: FaultServer, query = '', init: RequestInit = {}) => fetch(`${s.url}/xrpc/com.atproto.sync.listRepos${query}`, init)

  test('other paths pass through unchanged; the broken one does not reach upstream', async () => {
    const s = await start('html-502')
    const before = upstream.requests.length
    const ok = await fetch(`${s.url}/xrpc/com.atproto.server.describeServer`)
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { ok: true, path: '/xrpc/com.atproto.server.describeServer' })
    const bad = await listRepos(s)
    assert.equal(bad.status, 502)
    assert.match(bad.headers.get('content-type') ?? '', /text\/html/)
    assert.match(await bad.text(), /502 Bad Gateway/)
    assert.equal(upstream.requests.length, before + 1)
    assert.deepEqual(s.requests.map((r) => r.mode), ['pass', 'html-502'])
  })

  test('error pages, invalid JSON, login page, 401, redirect to another origin', async () => {
    const cases: Array<[FaultMode, number, RegExp]> = [
      ['text-500', 500, /text\/plain/],
      ['json-invalid', 200, /application\/json/],
      ['html-200', 200, /text\/html/],
      ['html-401', 401, /text\/html/],
    ]
    for (const [mode, status, ctype] of cases) {
      const res = await listRepos(await start(mode))
      assert.equal(res.status, status, mode)
      assert.match(res.headers.get('content-type') ?? '', ctype, mode)
      const text = await res.text()
      if (mode === 'json-invalid') assert.throws(() => JSON.parse(text))
    }
    const s = await start('redirect')
    const res = await listRepos(s, '', { redirect: 'manual' })
    assert.equal(res.status, 302)
    const location = new URL(res.headers.get('location') ?? '')
    assert.notEqual(location.origin, new URL(s.url).origin)
    assert.equal(location.origin, new URL(s.elsewhere.url).origin)
  })

  test('refused, truncated, reset mid-body, no answer, self-signed TLS', async () => {
    await assert.rejects(listRepos(await start('refused')), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED')
    for (const mode of ['truncated', 'reset-mid-body'] as const) {
      const res = await listRepos(await start(mode))
      assert.equal(res.status, 200, mode)
      assert.equal(res.headers.get('content-length'), '4096')
      await assert.rejects(res.text(), mode)
    }
    await assert.rejects(listRepos(await start('no-answer'), '', { signal: AbortSignal.timeout(700) }), /abort|timeout/i)
    const tls = await start('tls-self-signed')
    assert.match(tls.url, /^https:/)
    await assert.rejects(fetch(`${tls.url}/xrpc/_health`), (err: Error & { cause?: { code?: string } }) => /SELF_SIGNED|CERT/.test(err.cause?.code ?? ''))
    assert.equal(tls.requests.length, 0)
  })

  test('headers and body at 1 byte/s', async () => {
    const headers = await start('slow-headers')
    const t0 = Date.now()
    await assert.rejects(listRepos(headers, '', { signal: AbortSignal.timeout(1500) }))
    assert.ok(Date.now() - t0 >= 1400)
    const body = await start('slow-body')
    const res = await listRepos(body, '', { signal: AbortSignal.timeout(2500) })
    assert.equal(res.status, 200)
    const reader = res.body!.getReader()
    let got = 0
    await assert.rejects(
      (async () => {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          got += value.length
        }
      })(),
    )
    assert.ok(got >= 1 && got <= 4, `about one byte a second: got ${got} bytes in 2.5 s`)
  })

  test('429: the short one once then through, the long one always', async () => {
    const short = await start('retry-after-short')
    const first = await listRepos(short)
    assert.equal(first.status, 429)
    assert.equal(first.headers.get('retry-after'), '1')
    assert.equal(((await first.json()) as { error: string }).error, 'RateLimitExceeded')
    assert.equal((await listRepos(short)).status, 200)
    const long = await start('retry-after-long')
    for (let i = 0; i < 2; i++) {
      const res = await listRepos(long)
      assert.equal(res.status, 429)
      assert.equal(res.headers.get('retry-after'), '3600')
      await res.body?.cancel()
    }
  })

  test('oversized: a declared and sent length above the 32 MiB cap, valid JSON', async () => {
    const res = await listRepos(await start('oversized'))
    assert.equal(Number(res.headers.get('content-length')), OVERSIZED_BYTES)
    assert.ok(OVERSIZED_BYTES > 32 * 1024 * 1024)
    const text = await res.text()
    assert.equal(text.length, OVERSIZED_BYTES)
    assert.equal((JSON.parse(text) as { padding: string }).padding.length, OVERSIZED_BYTES - 14)
  })

  test('endless cursor (bounded), page 2 failing, missing and null fields', async () => {
    const endless = await start('endless-cursor')
    for (const q of ['', `?cursor=${ENDLESS_CURSOR}`]) {
      const page = (await (await listRepos(endless, q)).json()) as { cursor: string; repos: unknown[] }
      assert.equal(page.cursor, ENDLESS_CURSOR)
      assert.equal(page.repos.length, 1)
    }
    for (let i = 2; i < ENDLESS_CURSOR_LIMIT; i++) await (await listRepos(endless, `?cursor=${ENDLESS_CURSOR}`)).text()
    assert.equal((await listRepos(endless, `?cursor=${ENDLESS_CURSOR}`)).status, 503, 'gives up after the limit')

    const page2 = await start('page2-fails')
    const first = (await (await listRepos(page2)).json()) as { cursor?: string }
    assert.ok(first.cursor)
    assert.equal((await listRepos(page2, `?cursor=${first.cursor}`)).status, 502)

    assert.deepEqual(Object.keys((await (await listRepos(await start('missing-fields'))).json()) as object), [])
    assert.deepEqual(await (await listRepos(await start('null-fields'))).json(), { repos: null })
    // A write is never forwarded in the field modes.
    const before = upstream.requests.length
    const w = await start('missing-fields', 'com.atproto.admin.updateSubjectStatus')
    const res = await fetch(`${w.url}/xrpc/com.atproto.admin.updateSubjectStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    assert.deepEqual(await res.json(), {})
    assert.equal(upstream.requests.length, before)
  })

  test('close() ends held connections at once', async () => {
    const s = await startFaultServer({ upstream: upstream.url, mode: 'no-answer' })
    const ended = new Promise<string>((resolve) => {
      http.get(`${s.url}/xrpc/_health`, () => resolve('answered')).on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message))
    })
    while (s.requests.length === 0) await new Promise((r) => setTimeout(r, 20))
    const t0 = Date.now()
    await s.close()
    assert.equal(await ended, 'ECONNRESET')
    assert.ok(Date.now() - t0 < 1000)
  })
})
