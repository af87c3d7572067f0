// src/lib/pds/http.ts, pdsctl's transport over node:http/node:https: keep-alive reuse,
// connect and idle timeouts with their codes, a cut-off body, TLS always verified (also
// with NODE_TLS_REJECT_UNAUTHORIZED=0), and what a fresh process loads for it.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { getEventListeners } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { HttpTransport, readText, TransportError } from '../../../src/lib/pds/http.js'
import { ROOT } from '../../helpers/cli.js'

const listen = async (server: net.Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as AddressInfo).port
}

describe('HttpTransport', () => {
  let server: http.Server
  let port: number
  const connections: number[] = []
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') {
        res.writeHead(200, { 'content-length': '10' })
        res.write('ab') // then nothing
        return
      }
      if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' })
        res.write('{"partial":')
        setTimeout(() => req.socket.destroy(), 20)
        return
      }
      let body = ''
      req.setEncoding('utf8').on('data', (c) => (body += c))
      req.on('end', () => {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null }))
      })
    })
    server.on('connection', () => connections.push(Date.now()))
    port = await listen(server)
  })
  after(() => server.close())

  test('GET and POST; keep-alive reuses one connection for requests in sequence', async () => {
    const t = new HttpTransport()
    try {
      const before = connections.length
      for (let i = 0; i < 3; i++) {
        const res = await t.request({ url: new URL(`http://127.0.0.1:${port}/xrpc/x?i=${i}`), method: 'GET', headers: { authorization: 'Basic eA==' } })
        assert.equal(res.statusCode, 200)
        assert.equal(res.headers['content-type'], 'application/json')
        assert.deepEqual(JSON.parse(await readText(res.body)), { method: 'GET', url: `/xrpc/x?i=${i}`, body: '', auth: 'Basic eA==' })
      }
      const posted = await t.request({ url: new URL(`http://127.0.0.1:${port}/p`), method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '7' }, body: '{"a":1}' })
      assert.equal(JSON.parse(await readText(posted.body)).body, '{"a":1}')
      assert.equal(connections.length - before, 1)
    } finally {
      t.destroy()
    }
  })

  test('nothing received for idleTimeoutMs: IDLE_TIMEOUT, whether waiting for headers or mid-body', async () => {
    const t = new HttpTransport({ idleTimeoutMs: 200 })
    const silent = net.createServer(() => {}) // accepts, never answers
    const silentPort = await listen(silent)
    try {
      const started = Date.now()
      await assert.rejects(t.request({ url: new URL(`http://127.0.0.1:${silentPort}/`), method: 'GET', headers: {} }), (e: unknown) => e instanceof TransportError && e.code === 'IDLE_TIMEOUT')
      assert.ok(Date.now() - started < 2000)
      const res = await t.request({ url: new URL(`http://127.0.0.1:${port}/slow`), method: 'GET', headers: {} })
      await assert.rejects(readText(res.body), (e: unknown) => e instanceof TransportError && e.code === 'IDLE_TIMEOUT')
    } finally {
      t.destroy()
      silent.close()
    }
  })

  test('a body cut off by the server is an error (ECONNRESET), never a short success', async () => {
    const t = new HttpTransport()
    try {
      const res = await t.request({ url: new URL(`http://127.0.0.1:${port}/cut`), method: 'GET', headers: {} })
      await assert.rejects(readText(res.body), (e: unknown) => (e as { code?: string }).code === 'ECONNRESET')
    } finally {
      t.destroy()
    }
  })

  test('connecting that takes longer than connectTimeoutMs: CONNECT_TIMEOUT', async () => {
    // A name lookup that never answers keeps the socket connecting.
    const t = new HttpTransport({ connectTimeoutMs: 150, lookup: () => {} })
    try {
      const started = Date.now()
      await assert.rejects(t.request({ url: new URL('http://pds.invalid/'), method: 'GET', headers: {} }), (e: unknown) => e instanceof TransportError && e.code === 'CONNECT_TIMEOUT')
      assert.ok(Date.now() - started < 2000)
    } finally {
      t.destroy()
    }
  })

  test('an abort signal ends a request at once', async () => {
    const t = new HttpTransport()
    const silent = net.createServer(() => {})
    const silentPort = await listen(silent)
    try {
      const ac = new AbortController()
      setTimeout(() => ac.abort(new Error('stop')), 50)
      const started = Date.now()
      await assert.rejects(t.request({ url: new URL(`http://127.0.0.1:${silentPort}/`), method: 'GET', headers: {}, signal: ac.signal }))
      assert.ok(Date.now() - started < 1000)
    } finally {
      t.destroy()
      silent.close()
    }
  })

  test('one listener on a signal however many requests it covers; it still ends those in flight, a body mid-read too', async () => {
    const t = new HttpTransport()
    const silent = net.createServer(() => {})
    const silentPort = await listen(silent)
    try {
      const ac = new AbortController()
      for (let i = 0; i < 20; i++) {
        const res = await t.exchange({ url: new URL(`http://127.0.0.1:${port}/echo`), method: 'GET', headers: {} }, { deadlineMs: 5000, maxBytes: 1 << 20, signal: ac.signal })
        assert.equal(res.statusCode, 200)
        const streamed = await t.request({ url: new URL(`http://127.0.0.1:${port}/echo`), method: 'GET', headers: {}, signal: ac.signal })
        await readText(streamed.body)
      }
      const mid = await t.request({ url: new URL(`http://127.0.0.1:${port}/slow`), method: 'GET', headers: {}, signal: ac.signal })
      const body = readText(mid.body)
      const waiting = t.exchange({ url: new URL(`http://127.0.0.1:${silentPort}/`), method: 'GET', headers: {} }, { deadlineMs: 30_000, maxBytes: 1 << 20, signal: ac.signal })
      const headers = t.request({ url: new URL(`http://127.0.0.1:${silentPort}/`), method: 'GET', headers: {}, signal: ac.signal })
      assert.equal(getEventListeners(ac.signal, 'abort').length, 1, 'three requests in flight, one listener')
      const reason = new Error('stop')
      setTimeout(() => ac.abort(reason), 50)
      await assert.rejects(waiting, (e) => e === reason)
      await assert.rejects(headers, (e: Error & { code?: string }) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason)
      await assert.rejects(body)
      // Later requests on the aborted signal end at once.
      await assert.rejects(t.exchange({ url: new URL(`http://127.0.0.1:${port}/echo`), method: 'GET', headers: {} }, { deadlineMs: 5000, maxBytes: 1 << 20, signal: ac.signal }), (e) => e === reason)
      await assert.rejects(t.request({ url: new URL(`http://127.0.0.1:${port}/echo`), method: 'GET', headers: {}, signal: ac.signal }), { name: 'AbortError' })
    } finally {
      t.destroy()
      silent.close()
    }
  })

  test('TLS is verified, also when NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' })
    let reached = 0
    const tls = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
      reached++
      res.end('{}')
    })
    const tlsPort = await listen(tls)
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    const t = new HttpTransport()
    try {
      await assert.rejects(t.request({ url: new URL(`https://localhost:${tlsPort}/`), method: 'GET', headers: {} }), (e: unknown) => /SELF_SIGNED|CERT/.test(String((e as { code?: string }).code)))
      assert.equal(reached, 0)
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved
      t.destroy()
      tls.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

test('a fresh process loads neither undici nor node:http2 nor node:https for an http:// request', async () => {
  const server = http.createServer((_req, res) => res.end('{"version":"x"}'))
  const p = await listen(server)
  const script = `
import { HttpTransport, readText } from ${JSON.stringify(path.join(ROOT, 'dist/lib/pds/http.js'))}
const t = new HttpTransport()
const res = await t.request({ url: new URL('http://127.0.0.1:${p}/xrpc/_health'), method: 'GET', headers: {} })
const body = await readText(res.body)
t.destroy()
const loaded = process.moduleLoadList.filter((m) => /NativeModule (http2|https|internal\\/deps\\/undici)/.test(m))
console.log(JSON.stringify({ status: res.statusCode, body, loaded }))
`
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 })
    assert.deepEqual(JSON.parse(stdout), { status: 200, body: '{"version":"x"}', loaded: [] })
  } finally {
    server.close()
  }
})
