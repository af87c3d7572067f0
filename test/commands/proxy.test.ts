// pdsctl behind a real forward proxy (tinyproxy, test/bed/forwardProxy.ts): the PDS, a relay
// and the rest reached through CONNECT tunnels for https and http, the proxy's own
// authentication, NO_PROXY and loopback going direct, and one clear line naming the proxy
// when it fails. The admin password never crosses the proxy in the clear.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { startForwardProxy, startTlsFront, type ForwardProxy, type TlsFront } from '../bed/forwardProxy.js'
import { startRelay, type RelayStandIn } from '../bed/relay.js'
import { freePort } from '../bed/pds.js'
import { runCli } from '../helpers/cli.js'

describe('pdsctl behind a forward proxy', () => {
  let bed: TestBed
  let front: TlsFront
  let relay: RelayStandIn
  let relayFront: TlsFront
  let proxy: ForwardProxy
  const proxies: ForwardProxy[] = []
  const basic = () => Buffer.from(`admin:${bed.adminPassword}`).toString('base64')
  before(async () => {
    bed = await startTestBed({ email: false })
    await bed.seed(3, 'proxied')
    front = await startTlsFront(bed.url)
    relay = await startRelay()
    relayFront = await startTlsFront(relay.url)
    proxy = await startForwardProxy()
    proxies.push(proxy)
  })
  after(async () => {
    for (const p of proxies) await p.close()
    await relayFront.close()
    await relay.close()
    await front.close()
    await bed.close()
  })
  const env = (extra: Record<string, string>) => ({ PDS_ADMIN_PASSWORD: bed.adminPassword, NODE_EXTRA_CA_CERTS: front.caFile, ...extra })

  test('https: the PDS through HTTPS_PROXY (a CONNECT tunnel), the password inside TLS only; --debug names the proxy', async () => {
    const res = await runCli(['account', 'list', '--json', '--debug', '--url', front.url], { env: env({ HTTPS_PROXY: proxy.url }) })
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as unknown[]).length, 3)
    assert.match(proxy.log(), new RegExp(`CONNECT 0\\.0\\.0\\.0:${front.port}`))
    assert.match(res.stderr, new RegExp(`via proxy ${proxy.url.replace(/\./g, '\\.')}`))
    const sent = proxy.received()
    assert.match(sent, /^CONNECT 0\.0\.0\.0:\d+ HTTP\/1\.1\r\n/)
    assert.ok(!sent.includes(bed.adminPassword) && !sent.includes(basic()), 'the admin password crossed the proxy in the clear')
  })

  test("http (with --allow-insecure-http): tunnelled too, so the proxy never gets a request to read; http_proxy wins over HTTP_PROXY", async () => {
    const before = proxy.received().length
    const down = `http://127.0.0.1:${await freePort()}`
    const res = await runCli(['account', 'list', '--json', '--allow-insecure-http', '--url', bed.url.replace('127.0.0.1', '0.0.0.0')], { env: env({ http_proxy: proxy.url, HTTP_PROXY: down }) })
    assert.equal(res.code, 0, res.stderr)
    const sent = proxy.received().slice(before)
    assert.match(sent, /^CONNECT 0\.0\.0\.0:\d+ HTTP\/1\.1\r\n/)
    assert.doesNotMatch(sent.split('\r\n\r\n')[0], /authorization/i, 'no credential in what the proxy reads')
  })

  test('a relay (no credential) goes through the proxy too', async () => {
    const res = await runCli(['request-crawl', '--json', '--url', front.url, '--relay', relayFront.url], { env: { ...env({ HTTPS_PROXY: proxy.url }), NODE_EXTRA_CA_CERTS: relayFront.caFile } })
    assert.equal(res.code, 0, res.stderr)
    assert.match(proxy.log(), new RegExp(`CONNECT 0\\.0\\.0\\.0:${relayFront.port}`))
    assert.equal(relay.crawled.length, 1)
    assert.deepEqual(relay.credentialLeaks, [])
  })

  test("the firehose too: relay status's seq probe opens its WebSockets (wss) through CONNECT tunnels", async () => {
    const tunnels = () => proxy.log().split('\n').filter((l) => l.includes(`CONNECT 0.0.0.0:${front.port}`)).length
    const before = tunnels()
    const res = await runCli(['relay', 'status', '--relay', relayFront.url, '--hostname', 'pds.example.com', '--url', front.url, '--json', '--debug'], {
      env: { ...env({ HTTPS_PROXY: proxy.url }), NODE_EXTRA_CA_CERTS: `${front.caFile}` },
    })
    assert.equal(res.code === 0 || res.code === 6, true, res.stderr)
    const pds = (JSON.parse(res.stdout) as { pds: { seq: number | null; seqSource: string } }).pds
    assert.equal(typeof pds.seq, 'number', pds.seqSource)
    const probes = Number(/\((\d+) connections?\)/.exec(pds.seqSource)?.[1])
    assert.ok(probes >= 1, pds.seqSource)
    // Each WebSocket is a connection of its own (an upgraded socket is never reused): a tunnel each, besides the XRPC requests'.
    assert.ok(tunnels() - before > probes, `${tunnels() - before} tunnels to the PDS for ${probes} WebSockets and the XRPC requests`)
    // --debug names the proxy of each WebSocket, as of each request.
    const asked = res.stderr.split('\n').filter((l) => l.startsWith(`debug: → WebSocket wss://0.0.0.0:${front.port}/xrpc/com.atproto.sync.subscribeRepos?cursor=`))
    assert.equal(asked.length, probes, res.stderr)
    for (const l of asked) assert.ok(l.endsWith(` via proxy ${proxy.url}`), l)
    assert.ok(res.stderr.split('\n').some((l) => new RegExp(`^debug: ← 101 WebSocket wss://0\\.0\\.0\\.0:${front.port}/`).test(l)), res.stderr)
  })

  test('NO_PROXY and loopback go direct: a proxy that is down is never tried', async () => {
    const down = `http://127.0.0.1:${await freePort()}`
    const viaNoProxy = await runCli(['health', '--json', '--url', front.url], { env: env({ HTTPS_PROXY: down, NO_PROXY: 'example.org,0.0.0.0' }) })
    assert.equal(viaNoProxy.code, 0, viaNoProxy.stderr)
    const loopback = await runCli(['account', 'list', '--json', '--url', bed.url], { env: env({ HTTPS_PROXY: down, HTTP_PROXY: down }) })
    assert.equal(loopback.code, 0, loopback.stderr)
  })

  test('a proxy that is down: one line naming the proxy and its port, not the PDS', async () => {
    const port = await freePort()
    const res = await runCli(['account', 'list', '--url', front.url], { env: env({ HTTPS_PROXY: `http://proxyuser:pr0xy-s3cret@127.0.0.1:${port}` }) })
    assert.equal(res.code, 1)
    const lines = res.stderr.trim().split('\n')
    assert.equal(lines.length, 1, res.stderr)
    assert.match(lines[0], new RegExp(`^Error: cannot reach the PDS at https://0\\.0\\.0\\.0:${front.port}: cannot connect to the proxy http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. Is the proxy running\\?`))
    assert.doesNotMatch(res.stderr, /pr0xy-s3cret|proxyuser/)
  })

  test('a proxy that wants authentication: 407 named on CONNECT for https and http; the credentials in the URL work and are never shown', async () => {
    const authed = await startForwardProxy({ auth: { user: 'ops', password: 'pr0xy-s3cret' } })
    proxies.push(authed)
    for (const url of [front.url, bed.url.replace('127.0.0.1', '0.0.0.0')]) {
      const flags = url.startsWith('http:') ? ['--allow-insecure-http'] : []
      const res = await runCli(['account', 'list', ...flags, '--url', url], { env: env({ HTTPS_PROXY: authed.url, HTTP_PROXY: authed.url }) })
      assert.equal(res.code, 1, res.stderr)
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr)
      assert.match(res.stderr, new RegExp(`the proxy ${authed.url.replace(/\./g, '\\.')} wants authentication \\(HTTP 407, Basic\\)\\. Give them in the proxy URL`))
    }
    const withCreds = `http://ops:pr0xy-s3cret@127.0.0.1:${authed.port}`
    const ok = await runCli(['account', 'list', '--json', '--debug', '--url', front.url], { env: env({ HTTPS_PROXY: withCreds }) })
    assert.equal(ok.code, 0, ok.stderr)
    assert.doesNotMatch(ok.stderr + ok.stdout, /pr0xy-s3cret|ops:/)
    assert.match(authed.received(), /Proxy-Authorization: Basic b3BzOnByMHh5LXMzY3JldA==/i)
    const wrong = await runCli(['account', 'list', '--url', front.url], { env: env({ HTTPS_PROXY: `http://ops:wrong@127.0.0.1:${authed.port}` }) })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wants authentication \(HTTP 40[17](, Basic)?\)\. It refused the credentials in the proxy URL/)
    assert.doesNotMatch(wrong.stderr, /wrong|ops/)
  })

  test('a proxy that refuses the tunnel: the port named, the fix given', async () => {
    const strict = await startForwardProxy({ connectPorts: [443] })
    proxies.push(strict)
    const res = await runCli(['health', '--url', front.url], { env: env({ HTTPS_PROXY: strict.url }) })
    assert.notEqual(res.code, 0)
    assert.match(res.stderr, new RegExp(`the proxy ${strict.url.replace(/\./g, '\\.')} refused to open a tunnel to 0\\.0\\.0\\.0:${front.port} \\(HTTP 403\\)\\. Ask for CONNECT`))
  })

  test('a malformed proxy variable: exit 2 before any request, naming the variable', async () => {
    const res = await runCli(['account', 'list', '--url', front.url], { env: env({ https_proxy: 'socks5://u:pw@127.0.0.1:1080' }) })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /^Error: https_proxy names a socks5 proxy at 127\.0\.0\.1:1080/)
    assert.doesNotMatch(res.stderr, /pw/)
  })
})
