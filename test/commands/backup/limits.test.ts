// pdsctl backup at the edges: memory flat in blob size (peak RSS up to a 150 MB blob), a
// 429 with Retry-After honoured, and the PDS's real rate limits (switched on in the bed)
// exhausted: without PDS_RATE_LIMIT_BYPASS_KEY the backup stops naming it, with it (from
// the env file) every request to the PDS carries x-ratelimit-bypass and the backup runs.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { BIN, CLI_NODE, cleanEnv, endStdin, runCli } from '../../helpers/cli.js'
import { startFakeKube } from '../../bed/fakeKube.js'
import { noKubectlLeft } from '../../helpers/processes.js'
import { createPost, fakeImage, session, uploadBlob } from './fixtures.js'
import type { BackupSummary } from '../../../src/lib/backup/backup.js'

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p))

/** A forwarding proxy that records each request's path and headers, and may answer instead. */
async function startTap(upstream: string, intercept?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean) {
  const seen: Array<{ path: string; headers: http.IncomingHttpHeaders }> = []
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers })
    if (intercept?.(req, res)) return
    const up = http.request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  }
}

/**
 * Run pdsctl with a preload that writes the process's peak RSS (VmHWM, bytes) at exit.
 * Not process.resourceUsage().maxRSS: on Linux a child starts with its parent's maxrss
 * (the test process, with the whole PDS in it), which hides everything below it.
 */
async function runMeasured(args: string[], env: Record<string, string>, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string; maxRss: number }> {
  const d = tmp('pdsctl-rss-')
  const probe = path.join(d, 'probe.mjs')
  const out = path.join(d, 'rss')
  writeFileSync(
    probe,
    `import { readFileSync, writeFileSync } from 'node:fs'\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, String(Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024)))\n`,
  )
  const child = spawn(CLI_NODE, ['--import', probe, BIN, ...args], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  endStdin(child, stdin)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c))
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
  return { code, stdout, stderr, maxRss: Number(readFileSync(out, 'utf8')) }
}

describe('pdsctl backup: memory and rate limits', () => {
  let bed: TestBed
  const bypassKey = 'bypass-' + randomBytes(12).toString('hex')
  const env = () => ({ PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })

  before(async () => {
    bed = await startTestBed({ rateLimitBypassKey: bypassKey, blobUploadLimit: 160 * 1024 * 1024 })
  })
  after(() => bed.close())

  test('memory stays flat in blob size: 2 KB, 50 MB and 150 MB blobs (peak RSS of backup and verify)', async () => {
    const accts = await bed.seed(3, 'mem')
    const sizes = [2048, 50 * 1024 * 1024, 150 * 1024 * 1024]
    const cids: string[] = []
    for (let i = 0; i < 3; i++) {
      const s = await session(bed.url, accts[i])
      const blob = await uploadBlob(bed.url, s.accessJwt, randomBytes(sizes[i]), 'application/octet-stream')
      // A record of a collection the PDS has no lexicon for: no image size rule applies.
      const res = await fetch(`${bed.url}/xrpc/com.atproto.repo.createRecord`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessJwt}` },
        body: JSON.stringify({ repo: s.did, collection: 'com.example.file', record: { $type: 'com.example.file', file: blob } }),
      })
      assert.equal(res.status, 200, await res.text())
      cids.push(blob.ref.$link)
    }
    const mb = (n: number) => Math.round(n / 1024 / 1024)
    const backup: number[] = []
    const verify: number[] = []
    for (let i = 0; i < 3; i++) {
      const d = tmp('pdsctl-mem-')
      const b = await runMeasured(['backup', d, '-', '--json'], env(), accts[i].handle)
      assert.equal(b.code, 0, b.stderr)
      const sum = JSON.parse(b.stdout) as BackupSummary
      assert.deepEqual(sum.blobs, { fetched: 1, skipped: 0 })
      assert.ok(sum.bytes > sizes[i])
      assert.equal(statSync(path.join(d, 'accounts', accts[i].did.replace(/:/g, '_'), 'blobs', cids[i])).size, sizes[i])
      backup.push(b.maxRss)
      const v = await runMeasured(['backup', 'verify', d, '--json', '--plc-url', bed.plcUrl], {})
      assert.equal(v.code, 0, v.stdout + v.stderr)
      verify.push(v.maxRss)
      await rm(d, { recursive: true, force: true })
    }
    console.log(`peak RSS, blobs of 2 KB / 50 MB / 150 MB: backup ${backup.map(mb).join(' / ')} MB, verify ${verify.map(mb).join(' / ')} MB`)
    // Holding the blob would add at least its size. Streaming adds only the socket chunks the
    // GC has not collected yet (V8 lets ~60 MB of external garbage build up before it runs;
    // bounded by V8, not by the blob): 100 MB more blob, under 30 MB more memory.
    assert.ok(backup[2] - backup[1] < 30 * 1024 * 1024, `backup: 50 MB ${mb(backup[1])} MB, 150 MB ${mb(backup[2])} MB`)
    assert.ok(backup[2] - backup[0] < 100 * 1024 * 1024, `backup: 2 KB ${mb(backup[0])} MB, 150 MB ${mb(backup[2])} MB`)
    // verify hashes through one reused buffer: no garbage, flat from the smallest blob on.
    assert.ok(verify[2] - verify[0] < 30 * 1024 * 1024, `verify: 2 KB ${mb(verify[0])} MB, 150 MB ${mb(verify[2])} MB`)
  })

  test('a 429 with Retry-After is waited out and the request sent again', async () => {
    const [acct] = await bed.seed(1, 'rl')
    const s = await session(bed.url, acct)
    await createPost(bed.url, s, 'with image', await uploadBlob(bed.url, s.accessJwt, fakeImage(4000)))
    let refused = 0
    // The PDS's own 429 shape (xrpc-server rate limiter): RateLimitExceeded + Retry-After seconds.
    const tap = await startTap(bed.url, (req, res) => {
      if (refused < 2 && (req.url?.startsWith('/xrpc/com.atproto.sync.getBlob') || (refused === 0 && req.url?.startsWith('/xrpc/com.atproto.admin.getAccountInfo')))) {
        refused++
        const body = JSON.stringify({ error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' })
        res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1', 'content-length': Buffer.byteLength(body) })
        res.end(body)
        return true
      }
      return false
    })
    try {
      const started = Date.now()
      const res = await runCli(['backup', tmp('pdsctl-429-'), '-', '--json'], { env: { PDS_URL: tap.url, PDS_ADMIN_PASSWORD: bed.adminPassword, PDS_RATE_LIMIT_BYPASS_KEY: bypassKey }, stdin: acct.handle, timeoutMs: 60_000 })
      assert.equal(res.code, 0, res.stderr)
      const sum = JSON.parse(res.stdout) as BackupSummary
      assert.deepEqual(sum.blobs, { fetched: 1, skipped: 0 })
      assert.equal(refused, 2)
      assert.ok(Date.now() - started >= 2000, 'waited Retry-After twice')
      assert.equal(tap.seen.filter((r) => r.path.startsWith('/xrpc/com.atproto.sync.getBlob')).length, 2, 'getBlob sent again after the 429')
      assert.equal(tap.seen.filter((r) => r.path.startsWith('/xrpc/com.atproto.admin.getAccountInfo')).length, 2)
      assert.match(res.stderr, /rate limited by the PDS: waiting 1 s \(Retry-After\)/)
    } finally {
      await tap.close()
    }
  })

  test('the bypass key from a Kubernetes Secret (--bypass-key-secret), through the port-forward', async () => {
    const tap = await startTap(bed.url)
    const k = await startFakeKube({ backendPort: Number(new URL(tap.url).port), secrets: { bluesky: { adminPassword: bed.adminPassword, rateLimitBypassKey: bypassKey } } })
    try {
      const res = await runCli(
        ['backup', tmp('pdsctl-kube-'), '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky', '--bypass-key-secret', 'bluesky', '--json', '--debug'],
        { env: k.env, timeoutMs: 120_000 },
      )
      assert.equal(res.code, 0, res.stderr)
      assert.ok((JSON.parse(res.stdout) as BackupSummary).accounts >= 1)
      assert.ok(tap.seen.length > 3)
      for (const r of tap.seen) assert.equal(r.headers['x-ratelimit-bypass'], bypassKey, `${r.path} carries the key`)
      assert.ok(k.requests.some((r) => r.path === '/api/v1/namespaces/bluesky/secrets/bluesky'))
      assert.equal(res.stderr.includes(bypassKey), false, 'never printed, not even with --debug')
      assert.deepEqual(await noKubectlLeft(k.cacheDir), [], 'no kubectl survives')

      const bad = await runCli(['backup', tmp('pdsctl-kube-'), '--url', bed.url, '--bypass-key-secret', 'Not_A_Name'], { env: { PDS_ADMIN_PASSWORD: bed.adminPassword } })
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /"Not_A_Name" is not a Secret NAME or NAME:KEY/)
    } finally {
      await k.close()
      await tap.close()
    }
  })

  // Last: it uses up the bed's real global limit (3,000 requests / 5 min from 127.0.0.1).
  test('real PDS rate limits: without the bypass key the backup stops naming it; with it (env file) it runs, header to the PDS only', async () => {
    const [acct] = await bed.seed(1, 'rk')
    const s = await session(bed.url, acct)
    await createPost(bed.url, s, 'x', await uploadBlob(bed.url, s.accessJwt, fakeImage(3000)))
    // Use up the global bucket.
    let limited = false
    for (let sent = 0; !limited && sent < 4000; sent += 50) {
      const codes = await Promise.all(Array.from({ length: 50 }, () => fetch(`${bed.url}/xrpc/com.atproto.server.describeServer`).then((r) => (r.body?.cancel(), r.status))))
      limited = codes.includes(429)
    }
    assert.ok(limited, 'the bed PDS rate-limits')

    const without = await runCli(['backup', tmp('pdsctl-nokey-'), '--json'], { env: env(), timeoutMs: 60_000 })
    assert.equal(without.code, 1, without.stderr)
    assert.match(without.stderr, /^Error: com\.atproto\.sync\.listRepos: the PDS rate limit was hit \(HTTP 429, Retry-After \d+ s\)\. Set PDS_RATE_LIMIT_BYPASS_KEY/m)

    const envFile = path.join(tmp('pdsctl-envfile-'), 'pds.env')
    writeFileSync(envFile, `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_RATE_LIMIT_BYPASS_KEY=${bypassKey}\n`)
    const tap = await startTap(bed.url)
    try {
      const res = await runCli(['backup', tmp('pdsctl-key-'), '--json', '--debug', '--env-file', envFile, '--url', tap.url], { timeoutMs: 120_000 })
      assert.equal(res.code, 0, res.stderr)
      const sum = JSON.parse(res.stdout) as BackupSummary
      assert.ok(sum.accounts >= 2)
      assert.deepEqual(sum.errors, [])
      assert.ok(tap.seen.length > 5)
      for (const r of tap.seen) assert.equal(r.headers['x-ratelimit-bypass'], bypassKey, `${r.path} carries the bypass key`)
      assert.equal(res.stderr.includes(bypassKey), false, 'the key is never printed, not even with --debug')
      assert.equal(res.stdout.includes(bypassKey), false)
    } finally {
      await tap.close()
    }
  })
})

describe('pdsctl backup: a 50 MB repository', () => {
  let bed: TestBed
  before(async () => {
    bed = await startTestBed()
  })
  after(() => bed.close())

  test('the repository goes to disk as a stream: backing up a 50 MB repo costs no more memory than a tiny one', async () => {
    const [small, big] = await bed.seed(2, 'repo')
    const s = await session(bed.url, big)
    // 58 records of 900 KB (the PDS takes up to ~1 MB a request), each different so that no
    // block is shared: a repository CAR of about 52 MB.
    for (let i = 0; i < 58; i++) {
      const res = await fetch(`${bed.url}/xrpc/com.atproto.repo.createRecord`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessJwt}` },
        body: JSON.stringify({ repo: s.did, collection: 'com.example.big', validate: false, record: { $type: 'com.example.big', text: randomBytes(675 * 1024).toString('base64') } }),
      })
      assert.equal(res.status, 200, await res.text())
    }
    const env = { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword }
    const mb = (n: number) => Math.round(n / 1024 / 1024)
    const peak: number[] = []
    for (const acct of [small, big]) {
      const d = tmp('pdsctl-bigrepo-')
      const b = await runMeasured(['backup', d, '-', '--json'], env, acct.handle)
      assert.equal(b.code, 0, b.stderr)
      peak.push(b.maxRss)
      if (acct === big) {
        const car = statSync(path.join(d, 'accounts', big.did.replace(/:/g, '_'), 'repo.car')).size
        assert.ok(car > 50 * 1024 * 1024, `repo.car is ${mb(car)} MB`)
      }
      await rm(d, { recursive: true, force: true })
    }
    console.log(`peak RSS of backup: tiny repo ${mb(peak[0])} MB, 52 MB repo ${mb(peak[1])} MB`)
    // Holding the CAR would add at least its 52 MB; streaming adds only uncollected socket chunks.
    assert.ok(peak[1] - peak[0] < 40 * 1024 * 1024, `tiny ${mb(peak[0])} MB, 52 MB repo ${mb(peak[1])} MB`)
  })
})
