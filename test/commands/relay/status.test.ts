// request-crawl and relay status against a loopback relay stand-in that records what it
// receives: the hostname, and never any credential.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startRelay } from '../../bed/relay.js'
import { runCli } from '../../helpers/cli.js'
import type { Recorder } from '../../helpers/recorder.js'
import type { CrawlResult, RelayHostStatus } from '../../../src/lib/federation/relays.js'

describe('pdsctl request-crawl / relay status', () => {
  let r1: Recorder
  let r2: Recorder
  let envFile: string
  before(async () => {
    r1 = await startRelay({ knownHosts: { 'pds.example.com': { status: 'active', accountCount: 12 } } })
    r2 = await startRelay()
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-'))
    envFile = path.join(dir, 'pds.env')
    writeFileSync(envFile, `PDS_HOSTNAME=pds.example.com\nPDS_ADMIN_PASSWORD=very-secret-admin\nPDS_CRAWLERS=${r1.url},${r2.url}\n`)
  })
  after(async () => {
    await r1.close()
    await r2.close()
  })

  test('relays and hostname from the env file; each relay gets {hostname} and no credential', async () => {
    const res = await runCli(['request-crawl', '--env-file', envFile, '--json'], { env: { PDS_ADMIN_PASSWORD: 'also-secret' } })
    assert.equal(res.code, 0, res.stderr)
    const results = JSON.parse(res.stdout) as CrawlResult[]
    assert.deepEqual(results.map((r) => [r.relay, r.ok]), [[r1.url, true], [r2.url, true]])
    for (const relay of [r1, r2]) {
      const req = relay.requests.find((q) => q.url === '/xrpc/com.atproto.sync.requestCrawl')
      assert.ok(req)
      assert.equal(req.method, 'POST')
      assert.deepEqual(JSON.parse(req.body), { hostname: 'pds.example.com' })
      assert.equal(req.headers['content-type'], 'application/json')
      assert.equal(req.headers.authorization, undefined)
      assert.ok(!JSON.stringify(req).includes('secret'))
    }
  })

  test('named relays and --hostname override; one failing relay gives exit 5', async () => {
    const res = await runCli(['request-crawl', r2.url, 'http://127.0.0.1:9', '--hostname', 'other.example.com'])
    assert.equal(res.code, 5, res.stderr)
    assert.ok(r2.requests.some((q) => q.body.includes('other.example.com')))
    assert.match(res.stdout, /^http:\/\/127\.0\.0\.1:9\tfailed\tcannot connect to the relay at http:\/\/127\.0\.0\.1:9/m)
  })

  test('bad input: a hostname with a scheme, a non-loopback http relay, no hostname', async () => {
    for (const args of [['--hostname', 'https://pds.example.com'], ['http://relay.example.com', '--hostname', 'pds.example.com'], []]) {
      const res = await runCli(['request-crawl', ...args])
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    }
    assert.equal(r1.requests.filter((q) => q.url.includes('requestCrawl')).length, 1, 'no extra request reached a relay')
  })

  test('relay status: known host, unknown host', async () => {
    const known = await runCli(['relay', 'status', '--env-file', envFile, '--json'])
    assert.equal(known.code, 0, known.stderr)
    assert.deepEqual(JSON.parse(known.stdout) as RelayHostStatus, { relay: r1.url, hostname: 'pds.example.com', known: true, status: 'active', accountCount: 12, seq: 42 })
    assert.equal(r1.requests.at(-1)?.headers.authorization, undefined)
    const unknown = await runCli(['relay', 'status', r2.url, '--hostname', 'pds.example.com', '--json'])
    assert.equal(unknown.code, 0, unknown.stderr)
    assert.equal((JSON.parse(unknown.stdout) as RelayHostStatus).known, false)
    assert.match(unknown.stderr, /does not know pds\.example\.com yet; ask it with `pdsctl request-crawl/)
  })
})
