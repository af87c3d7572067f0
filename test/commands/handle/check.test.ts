// handle check against a DNS server, an HTTPS server and the PLC directory, all on
// loopback; pdsctl trusts the test certificate the way an operator would trust a private
// CA (NODE_EXTRA_CA_CERTS) and asks the test DNS server (--dns-server) for TXT and A.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { startDnsServer, type DnsServer } from '../../bed/dns.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { HandleReport } from '../../../src/lib/selfhost/handleCheck.js'

const statusOf = (r: HandleReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]))

describe('pdsctl handle check', () => {
  let bed: TestBed
  let dns: DnsServer
  let web: https.Server | undefined
  let h: SeededAccount[]
  let certPath: string
  const wellKnown = new Map<string, string>()
  const webRequests: string[] = []
  let skip: string | false = false

  before(async () => {
    bed = await startTestBed()
    h = await bed.seed(6, 'hank')
    dns = await startDnsServer()
    const dir = mkdtempSync(path.join(tmpdir(), 'handle-'))
    certPath = path.join(dir, 'cert.pem')
    const keyPath = path.join(dir, 'key.pem')
    const names = [...h.map((a) => a.handle), 'stranger.test']
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pdsctl test', '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' })
    for (const n of names) dns.set(n, { a: ['127.0.0.1'] })
    web = https.createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, (req, res) => {
      webRequests.push(`${req.headers.host}${req.url}`)
      const did = req.url === '/.well-known/atproto-did' ? wellKnown.get(String(req.headers.host)) : undefined
      if (did) res.writeHead(200, { 'content-type': 'text/plain' }).end(did + '\n')
      else res.writeHead(404).end('not found')
    })
    // The well-known lives at https://HANDLE/ — port 443, which needs root on loopback.
    await new Promise<void>((resolve) => {
      web!.once('error', (err: NodeJS.ErrnoException) => {
        skip = `cannot listen on 127.0.0.1:443 (${err.code})`
        web = undefined
        resolve()
      })
      web!.listen(443, '127.0.0.1', () => resolve())
    })
  })
  after(async () => {
    await new Promise<void>((r) => (web ? web.close(() => r()) : r()))
    await dns.close()
    await bed.close()
  })

  const check = async (handle: string, extra: string[] = []) => {
    // The test PDS's DID documents point at its dev-mode public URL, http://localhost:PORT.
    const publicUrl = extra.includes('--public-url') ? [] : ['--public-url', `http://localhost:${bed.port}`]
    const res = await runCli(['handle', 'check', handle, '--dns-server', dns.address, '--plc-url', bed.plcUrl, '--json', ...publicUrl, ...extra], {
      env: bedEnv(bed, { NODE_EXTRA_CA_CERTS: certPath }),
    })
    return { res, report: res.stdout ? (JSON.parse(res.stdout) as HandleReport) : undefined }
  }

  test('a healthy handle passes every check', async (t) => {
    if (skip) return t.skip(skip)
    dns.set(`_atproto.${h[0].handle}`, { txt: [`did=${h[0].did}`] })
    wellKnown.set(h[0].handle, h[0].did)
    const { res, report } = await check(h[0].handle)
    assert.equal(res.code, 0, res.stdout + res.stderr)
    assert.equal(report!.did, h[0].did)
    assert.deepEqual(statusOf(report!), { dns: 'pass', https: 'pass', agree: 'pass', pds: 'pass', didDoc: 'pass', alsoKnownAs: 'pass', pdsEndpoint: 'pass' })
    assert.ok(webRequests.includes(`${h[0].handle}/.well-known/atproto-did`))
  })

  test('the PLC directory from PDS_DID_PLC_URL in the environment, as every command reads it (not only from the env file)', async (t) => {
    if (skip) return t.skip(skip)
    dns.set(`_atproto.${h[0].handle}`, { txt: [`did=${h[0].did}`] })
    wellKnown.set(h[0].handle, h[0].did)
    const res = await runCli(['handle', 'check', h[0].handle, '--dns-server', dns.address, '--json', '--public-url', `http://localhost:${bed.port}`], {
      env: bedEnv(bed, { NODE_EXTRA_CA_CERTS: certPath, PDS_DID_PLC_URL: bed.plcUrl }),
    })
    assert.equal(res.code, 0, res.stdout + res.stderr)
    assert.equal(statusOf(JSON.parse(res.stdout) as HandleReport).didDoc, 'pass')
  })

  test('DNS only (well-known 404) is fine: https warns', async (t) => {
    if (skip) return t.skip(skip)
    dns.set(`_atproto.${h[2].handle}`, { txt: [`did=${h[2].did}`] })
    const { res, report } = await check(h[2].handle)
    assert.equal(res.code, 0, res.stdout + res.stderr)
    assert.equal(statusOf(report!).https, 'warn')
    assert.equal(statusOf(report!).dns, 'pass')
  })

  test('planted faults are each found, with exit 6', async (t) => {
    if (skip) return t.skip(skip)
    // DNS names another account's DID
    dns.set(`_atproto.${h[1].handle}`, { txt: [`did=${h[0].did}`] })
    let r = await check(h[1].handle)
    assert.equal(r.res.code, 6)
    assert.equal(statusOf(r.report!).pds, 'fail')
    assert.match(r.report!.checks.find((c) => c.id === 'pds')!.message, new RegExp(`points at ${h[0].did}, but on this PDS it belongs to ${h[1].did}`))
    // neither method
    r = await check(h[3].handle)
    assert.equal(r.res.code, 6)
    assert.equal(statusOf(r.report!).dns, 'fail')
    assert.equal(statusOf(r.report!).https, 'fail')
    assert.match(r.report!.checks[0].fix ?? '', /Add a DNS TXT record _atproto\.hank3\.test/)
    // DNS and HTTPS disagree
    dns.set(`_atproto.${h[4].handle}`, { txt: [`did=${h[4].did}`] })
    wellKnown.set(h[4].handle, h[5].did)
    r = await check(h[4].handle)
    assert.equal(statusOf(r.report!).agree, 'fail')
    // malformed TXT
    dns.set(`_atproto.${h[5].handle}`, { txt: [h[5].did] })
    r = await check(h[5].handle)
    assert.equal(statusOf(r.report!).dns, 'fail')
    assert.match(r.report!.checks[0].message, /malformed/)
    // a handle this PDS does not host
    dns.set('_atproto.stranger.test', { txt: [`did=${h[0].did}`] })
    r = await check('stranger.test')
    assert.equal(statusOf(r.report!).pds, 'fail')
    // the DID document points at another PDS
    r = await check(h[0].handle, ['--public-url', 'https://other-pds.example.com'])
    assert.equal(r.res.code, 6)
    assert.equal(statusOf(r.report!).pdsEndpoint, 'fail')
    assert.match(r.report!.checks.find((c) => c.id === 'pdsEndpoint')!.message, /#atproto_pds is http:\/\/localhost:\d+, not this PDS \(https:\/\/other-pds\.example\.com\)/)
    assert.match(r.report!.checks.find((c) => c.id === 'pdsEndpoint')!.fix ?? '', /fix the PLC entry to https:\/\/other-pds\.example\.com/)
  })

  test('no --public-url and no PDS_HOSTNAME: the URL guessed from the PDS URL is said to be a guess, and the fix asks for the public URL, never a PLC entry pointing at 127.0.0.1', async (t) => {
    if (skip) return t.skip(skip)
    const env = bedEnv(bed, { NODE_EXTRA_CA_CERTS: certPath, PDS_DID_PLC_URL: bed.plcUrl })
    assert.equal((env as Record<string, string | undefined>).PDS_HOSTNAME, undefined)
    const res = await runCli(['handle', 'check', h[0].handle, '--dns-server', dns.address], { env })
    assert.equal(res.code, 6, res.stdout + res.stderr)
    const line = res.stdout.split('\n').find((l) => l.includes('pdsEndpoint'))!
    assert.match(line, /not this PDS \(https:\/\/127\.0\.0\.1, guessed from the PDS URL\)/)
    assert.match(line, /Pass --public-url with this PDS's public URL/)
    assert.doesNotMatch(res.stdout + res.stderr, /fix the PLC entry/)
    // PDS_HOSTNAME named: the public URL is the operator's, and a mismatch is the DID document's.
    const named = await runCli(['handle', 'check', h[0].handle, '--dns-server', dns.address, '--json'], { env: { ...env, PDS_HOSTNAME: 'pds.example.com' } })
    const endpoint = (JSON.parse(named.stdout) as HandleReport).checks.find((c) => c.id === 'pdsEndpoint')!
    assert.equal(endpoint.message, `#atproto_pds is http://localhost:${bed.port}, not this PDS (https://pds.example.com)`)
    assert.match(endpoint.fix ?? '', /fix the PLC entry to https:\/\/pds\.example\.com/)
  })

  test('a malformed handle is rejected before any request', async () => {
    const before = dns.queries.length
    const res = await runCli(['handle', 'check', 'not a handle', '--dns-server', dns.address], { env: bedEnv(bed) })
    assert.equal(res.code, 2)
    assert.equal(dns.queries.length, before)
    const badDns = await runCli(['handle', 'check', 'a.test', '--dns-server', 'no spaces allowed'], { env: bedEnv(bed) })
    assert.equal(badDns.code, 2)
  })
})
