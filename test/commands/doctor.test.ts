import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { startProxy, type Proxy } from '../bed/proxy.js'
import { runCli } from '../helpers/cli.js'
import { json, startRecorder, type Recorder } from '../helpers/recorder.js'
import type { DoctorReport } from '../../src/lib/selfhost/doctor.js'

const status = (r: DoctorReport, id: string) => r.checks.find((c) => c.id === id)?.status

describe('pdsctl doctor', () => {
  let bed: TestBed
  let relay: Recorder
  let envFile: string
  const proxies: Proxy[] = []
  before(async () => {
    bed = await startTestBed()
    relay = await startRecorder((req, res) => {
      if (req.url.startsWith('/xrpc/com.atproto.sync.getHostStatus')) return json(res, 200, { hostname: '127.0.0.1', status: 'active', accountCount: 0 })
      json(res, 404, { error: 'NotFound' })
    })
    const dir = mkdtempSync(path.join(tmpdir(), 'doctor-'))
    envFile = path.join(dir, 'pds.env')
    writeFileSync(envFile, `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_EMAIL_SMTP_URL=smtp://127.0.0.1:${bed.mail.port}\nPDS_EMAIL_FROM_ADDRESS=pds@localhost\nPDS_CRAWLERS=${relay.url}\n`)
  })
  after(async () => {
    for (const p of proxies) await p.close()
    await relay.close()
    await bed.close()
  })

  test('a healthy set-up passes every check; the relay is asked about this host with no credentials', async () => {
    const res = await runCli(['doctor', '--url', bed.url, '--env-file', envFile, '--json'])
    assert.equal(res.code, 0, res.stdout + res.stderr)
    const report = JSON.parse(res.stdout) as DoctorReport
    assert.equal(report.ok, true)
    for (const id of ['public-health', 'bodyless-post', 'websocket', 'describe-server', 'contact', 'email', `relay 127.0.0.1:${relay.port}`]) {
      assert.equal(status(report, id), 'pass', `${id}: ${JSON.stringify(report.checks)}`)
    }
    assert.match(report.checks.find((c) => c.id === 'email')!.message, /judged from .*pds\.env/)
    const asked = relay.requests.find((r) => r.url.startsWith('/xrpc/com.atproto.sync.getHostStatus'))
    assert.equal(asked?.url, '/xrpc/com.atproto.sync.getHostStatus?hostname=127.0.0.1')
    assert.equal(asked?.headers.authorization, undefined)
  })

  test('a proxy that chunks body-less POSTs (answered the way PDS 0.4.x does) is named, with the cloudflared fix', async () => {
    const proxy = await startProxy(bed.url, { chunkEmptyPosts: true, rejectChunkedLike04: true })
    proxies.push(proxy)
    const res = await runCli(['doctor', '--url', proxy.url, '--no-relays', '--json'], { env: { PDS_ADMIN_PASSWORD: bed.adminPassword } })
    assert.equal(res.code, 6)
    const report = JSON.parse(res.stdout) as DoctorReport
    const check = report.checks.find((c) => c.id === 'bodyless-post')!
    assert.equal(check.status, 'fail')
    assert.match(check.message, /adds chunked transfer encoding/)
    assert.match(check.fix ?? '', /disableChunkedEncoding/)
    assert.equal(status(report, 'websocket'), 'pass')
    assert.match(res.stderr, /^Error: 1 check failed: bodyless-post/m)
    assert.ok(proxy.forwarded.some((f) => f.method === 'POST' && f.te === 'chunked'))
  })

  test('chunked body-less POSTs that the current PDS accepts pass', async () => {
    const proxy = await startProxy(bed.url, { chunkEmptyPosts: true })
    proxies.push(proxy)
    const res = await runCli(['doctor', '--url', proxy.url, '--no-relays', '--json'])
    const report = JSON.parse(res.stdout) as DoctorReport
    assert.equal(status(report, 'bodyless-post'), 'pass')
    assert.ok(proxy.forwarded.some((f) => f.method === 'POST' && f.te === 'chunked'), 'the proxy really re-framed it')
  })

  test('a proxy that refuses WebSocket upgrades is named', async () => {
    const proxy = await startProxy(bed.url, { refuseWebSocket: true })
    proxies.push(proxy)
    const res = await runCli(['doctor', '--url', proxy.url, '--no-relays'])
    assert.equal(res.code, 6)
    assert.match(res.stdout, /^FAIL\twebsocket\ta WebSocket to com\.atproto\.sync\.subscribeRepos does not open/m)
    assert.match(res.stdout, /^PASS\tbodyless-post\t/m)
    assert.match(res.stderr, /1 check failed: websocket/)
  })

  test('no SMTP in the env file fails the email check; no env file only warns', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'doctor-'))
    const noMail = path.join(dir, 'pds.env')
    writeFileSync(noMail, 'PDS_HOSTNAME=pds.example.com\n')
    const res = await runCli(['doctor', '--url', bed.url, '--env-file', noMail, '--no-relays', '--json'])
    assert.equal(res.code, 6)
    const report = JSON.parse(res.stdout) as DoctorReport
    assert.equal(status(report, 'email'), 'fail')
    const bare = await runCli(['doctor', '--url', bed.url, '--no-relays', '--json'])
    assert.equal(bare.code, 0, bare.stderr)
    assert.equal(status(JSON.parse(bare.stdout) as DoctorReport, 'email'), 'warn')
  })

  test('an unreachable PDS fails at once; an unreachable relay only warns', async () => {
    const down = await runCli(['doctor', '--url', 'http://127.0.0.1:9', '--no-relays', '--json'])
    assert.equal(down.code, 6)
    const report = JSON.parse(down.stdout) as DoctorReport
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['public-health', 'fail']])
    const relayDown = await runCli(['doctor', '--url', bed.url, '--relay', 'http://127.0.0.1:9', '--json'])
    assert.equal(relayDown.code, 0, relayDown.stderr)
    assert.equal(status(JSON.parse(relayDown.stdout) as DoctorReport, 'relay 127.0.0.1:9'), 'warn')
  })
})
