import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { runCli } from '../helpers/cli.js'
import { json, startRecorder, type Recorder } from '../helpers/recorder.js'
import type { HealthReport } from '../../src/lib/pds/health.js'

describe('pdsctl health', () => {
  let bed: TestBed
  let proxy: Recorder
  before(async () => {
    bed = await startTestBed()
    // Stands in for a 0.4.x PDS run from npm, whose /xrpc/_health answers {} (no version):
    // everything else is passed through to the real PDS.
    proxy = await startRecorder(async (req, res) => {
      if (req.url === '/xrpc/_health') return json(res, 200, {})
      const upstream = await fetch(bed.url + req.url, { method: req.method })
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
      res.end(Buffer.from(await upstream.arrayBuffer()))
    })
  })
  after(async () => {
    await proxy.close()
    await bed.close()
  })

  test('healthy: version, describeServer facts and round-trip time; no admin password needed', async () => {
    const res = await runCli(['health', '--json', '--url', bed.url])
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as HealthReport
    assert.equal(report.healthy, true)
    assert.match(report.version ?? '', /^\d+\.\d+\.\d+/)
    assert.equal(typeof report.rttMs, 'number')
    assert.equal(report.server?.did, 'did:web:localhost')
    assert.equal(report.server?.inviteCodeRequired, false)
    assert.deepEqual(report.server?.availableUserDomains, ['.test'])
    assert.equal(report.server?.contactEmail, 'admin@localhost')
    assert.deepEqual(report.problems, [])
  })

  test('a PDS that reports no version is still healthy (version null)', async () => {
    const res = await runCli(['health', '--json', '--url', proxy.url])
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as HealthReport
    assert.equal(report.healthy, true)
    assert.equal(report.version, null)
    const piped = await runCli(['health', '--url', proxy.url])
    assert.match(piped.stdout, /^version\tnot reported$/m)
  })

  test('piped output is key<TAB>value lines', async () => {
    const res = await runCli(['health', '--url', bed.url])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^healthy\ttrue$/m)
    assert.match(res.stdout, /^rtt\t\d+ ms$/m)
    assert.match(res.stdout, /^user domains\t\.test$/m)
  })

  test('the PDS down: exit 6 (check failed) with the reason, JSON still printed', async () => {
    const res = await runCli(['health', '--json', '--url', 'http://127.0.0.1:9'])
    assert.equal(res.code, 6)
    const report = JSON.parse(res.stdout) as HealthReport
    assert.equal(report.healthy, false)
    assert.match(report.problems[0], /connection refused/)
    assert.match(res.stderr, /^Error: the PDS at http:\/\/127\.0\.0\.1:9 is not healthy: cannot connect/m)
  })

  test('a 503 from _health (database down) is unhealthy', async () => {
    const down = await startRecorder((_q, res) => json(res, 503, { version: '0.4.219', error: 'Service Unavailable' }))
    try {
      const res = await runCli(['health', '--url', down.url])
      assert.equal(res.code, 6)
      assert.match(res.stderr, /_health answered HTTP 503/)
      assert.equal(res.stderr.trimEnd().split('\n').length, 1)
    } finally {
      await down.close()
    }
  })

  test('plain http to a non-loopback host is refused before any request', async () => {
    const res = await runCli(['health', '--url', 'http://pds.example.com'])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /refusing plain http:\/\/ to pds\.example\.com.*--allow-insecure-http/)
  })

  test('malformed URLs are rejected before any request', async () => {
    for (const url of ['ftp://x.example', 'https://pds.example.com/some/path', 'http://user:pw@127.0.0.1:1']) {
      const res = await runCli(['health', '--url', url])
      assert.equal(res.code, 2, `${url}: ${res.stderr}`)
      assert.ok(!res.stderr.includes('pw@'), 'credentials in a URL are not echoed')
    }
  })

  test('no PDS configured names every way to give one', async () => {
    const res = await runCli(['health'])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /no PDS given.*--url.*PDS_URL.*--env-file.*--kube/)
  })
})

