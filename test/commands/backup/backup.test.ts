// pdsctl backup / backup verify / backup restore against the real test-bed PDS: accounts
// with posts and images, a taken-down and a deactivated account, incremental runs counted
// at the wire (a recording proxy in front of the PDS), damage caught by verify, a run
// killed with SIGKILL and resumed, and a restore after the account's records were lost.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CID } from 'multiformats/cid'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { startProxy, type Proxy } from '../../bed/proxy.js'
import { BIN, CLI_NODE, bedEnv, cleanEnv, runCli } from '../../helpers/cli.js'
import { createPost, fakeImage, fillAccounts, session, startSlowLink, uploadBlob } from './fixtures.js'
import type { BackupSummary } from '../../../src/lib/backup/backup.js'
import type { VerifyReport } from '../../../src/lib/backup/verify.js'
import type { RestoreResult } from '../../../src/lib/backup/restore.js'
import type { Manifest } from '../../../src/lib/backup/layout.js'

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p))
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const accountDirOf = (dir: string, did: string) => path.join(dir, 'accounts', did.replace(/:/g, '_'))

describe('pdsctl backup', () => {
  let bed: TestBed
  let proxy: Proxy
  let accts: SeededAccount[]
  let blobs: Map<string, string[]>
  const dir = tmp('pdsctl-backup-')
  let totalBlobs = 0

  before(async () => {
    bed = await startTestBed()
    accts = await bed.seed(4)
    blobs = await fillAccounts(bed.url, accts, 6, 3)
    totalBlobs = [...blobs.values()].reduce((n, c) => n + c.length, 0)
    // accts[1] taken down, accts[2] deactivated by the admin: both must be in the backup.
    await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: accts[1].did }, takedown: { applied: true, ref: 'spam-1' } }, bed.adminPassword)
    await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did: accts[2].did }, deactivated: { applied: true } }, bed.adminPassword)
    proxy = await startProxy(bed.url)
  })
  after(async () => {
    await proxy.close()
    await bed.close()
  })

  const viaProxy = () => ({ PDS_URL: proxy.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
  const count = (from: number, nsid: string) => proxy.forwarded.slice(from).filter((f) => f.path.startsWith(`/xrpc/${nsid}`)).length

  test('first run: every account (taken-down and deactivated included), every blob checked, admin view, manifest', async () => {
    const mark = proxy.forwarded.length
    const res = await runCli(['backup', dir, '--json'], { env: viaProxy(), timeoutMs: 120_000 })
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as BackupSummary
    assert.equal(s.dir, dir)
    assert.equal(s.accounts, 4)
    assert.deepEqual(s.repos, { full: 4, incremental: 0, unchanged: 0 })
    assert.deepEqual(s.blobs, { fetched: totalBlobs, skipped: 0 })
    assert.deepEqual(s.errors, [])
    assert.ok(s.bytes > totalBlobs * 2000, `bytes ${s.bytes}`)
    assert.equal(count(mark, 'com.atproto.sync.getBlob'), totalBlobs)
    assert.equal(count(mark, 'com.atproto.sync.getRepo'), 4)
    assert.match(res.stderr, /4 accounts, 12 blobs fetched, 0 skipped/)

    for (const a of accts) {
      const d = accountDirOf(dir, a.did)
      for (const cid of blobs.get(a.did)!) {
        const bytes = readFileSync(path.join(d, 'blobs', cid))
        assert.equal(sha(bytes), Buffer.from(CID.parse(cid).multihash.digest).toString('hex'), `blob ${cid} of ${a.handle} matches its CID`)
      }
      assert.ok(readFileSync(path.join(d, 'repo.car')).length > 500)
      const info = JSON.parse(readFileSync(path.join(d, 'account.json'), 'utf8'))
      assert.equal(info.handle, a.handle)
      assert.equal(info.email, a.email)
    }
    assert.equal(JSON.parse(readFileSync(path.join(accountDirOf(dir, accts[1].did), 'account.json'), 'utf8')).repoStatus, 'takendown')
    assert.equal(JSON.parse(readFileSync(path.join(accountDirOf(dir, accts[2].did), 'account.json'), 'utf8')).repoStatus, 'deactivated')

    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest
    assert.equal(m.format, 'pdsctl-backup/1')
    assert.equal(m.pdsctl, JSON.parse(readFileSync(path.join(BIN, '../../package.json'), 'utf8')).version)
    assert.equal(m.pds.version, '0.5.35')
    assert.ok(Date.parse(m.startedAt) <= Date.parse(m.endedAt))
    assert.equal(m.accounts.length, 4)
    assert.equal(m.totals.blobs, totalBlobs)
    const listed = (await (await fetch(`${bed.url}/xrpc/com.atproto.sync.listRepos`)).json()) as { repos: Array<{ did: string; rev: string }> }
    const revs = new Map(listed.repos.map((r) => [r.did, r.rev]))
    for (const e of m.accounts) {
      assert.equal(sha(readFileSync(path.join(dir, e.repo.path))), e.repo.sha256)
      assert.equal(sha(readFileSync(path.join(dir, e.account.path))), e.account.sha256)
      assert.equal(e.blobs.length, 3)
      for (const b of e.blobs) assert.equal(b.mimeType, 'image/png')
      assert.equal(e.rev, revs.get(e.did), `${e.handle}: the rev saved is the PDS's`)
    }
  })

  test('second run fetches no blob again: only the new post (a diff) and its image', async () => {
    const s0 = await session(bed.url, accts[0])
    const img = await uploadBlob(bed.url, s0.accessJwt, fakeImage(3333))
    await createPost(bed.url, s0, 'after the first backup', img)
    const mark = proxy.forwarded.length
    const res = await runCli(['backup', dir, '--json'], { env: viaProxy(), timeoutMs: 120_000 })
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as BackupSummary
    assert.deepEqual(s.repos, { full: 0, incremental: 1, unchanged: 3 })
    assert.deepEqual(s.blobs, { fetched: 1, skipped: 0 })
    assert.equal(count(mark, 'com.atproto.sync.getBlob'), 1, 'one getBlob: the new image')
    assert.ok(proxy.forwarded.slice(mark).some((f) => f.path.includes('sync.getBlob') && f.path.includes(img.ref.$link)))
    const getRepos = proxy.forwarded.slice(mark).filter((f) => f.path.startsWith('/xrpc/com.atproto.sync.getRepo?'))
    assert.equal(getRepos.length, 1)
    assert.match(getRepos[0].path, /since=/, 'the changed repo is asked only for what changed')
    const diffs = readdirSync(path.join(accountDirOf(dir, accts[0].did), 'diffs'))
    assert.equal(diffs.length, 1)

    const again = proxy.forwarded.length
    const res3 = await runCli(['backup', dir, '--json'], { env: viaProxy(), timeoutMs: 120_000 })
    assert.equal(res3.code, 0, res3.stderr)
    assert.deepEqual((JSON.parse(res3.stdout) as BackupSummary).repos, { full: 0, incremental: 0, unchanged: 4 })
    assert.equal(count(again, 'com.atproto.sync.getBlob'), 0)
    assert.equal(count(again, 'com.atproto.sync.getRepo'), 0)

    // Nothing new anywhere: no account's account.json or state.json is written again (the
    // same file, not a copy renamed over it), and the manifest still lists them all.
    const files = (d: string) => ['account.json', 'state.json'].map((f) => path.join(accountDirOf(dir, d), f))
    const ids = () => new Map(accts.flatMap((a) => files(a.did).map((f) => [f, `${statSync(f).ino}:${statSync(f).mtimeMs}`] as const)))
    const before4 = ids()
    const res4 = await runCli(['backup', dir, '--json'], { env: viaProxy(), timeoutMs: 120_000 })
    assert.equal(res4.code, 0, res4.stderr)
    assert.equal((JSON.parse(res4.stdout) as BackupSummary).bytes, 0, 'nothing written for any account')
    assert.deepEqual(ids(), before4)
    assert.equal((JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest).accounts.length, 4)

    // One account's admin view changes (a new email, no new rev): only its two files are written.
    const newEmail = `changed-${Date.now()}@example.com`
    await xrpc(bed.url, 'com.atproto.admin.updateAccountEmail', { account: accts[3].did, email: newEmail }, bed.adminPassword)
    const res5 = await runCli(['backup', dir, '--json'], { env: viaProxy(), timeoutMs: 120_000 })
    assert.equal(res5.code, 0, res5.stderr)
    const after5 = ids()
    for (const [f, id] of before4) {
      if (f.startsWith(accountDirOf(dir, accts[3].did))) assert.notEqual(after5.get(f), id, `${f} written again`)
      else assert.equal(after5.get(f), id, `${f} stands`)
    }
    assert.equal(JSON.parse(readFileSync(files(accts[3].did)[0], 'utf8')).email, newEmail)
    const entry = (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest).accounts.find((e) => e.did === accts[3].did)!
    assert.equal(entry.account.sha256, sha(readFileSync(files(accts[3].did)[0])))
    await xrpc(bed.url, 'com.atproto.admin.updateAccountEmail', { account: accts[3].did, email: accts[3].email }, bed.adminPassword)
  })

  test('verify passes: every CAR, every signature against the PLC document, every blob', async () => {
    const res = await runCli(['backup', 'verify', dir, '--json', '--plc-url', bed.plcUrl], { timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as VerifyReport
    assert.equal(r.ok, true)
    assert.equal(r.accounts, 4)
    assert.deepEqual(r.repos, { checked: 4, signatureVerified: 4, signatureUnchecked: 0 })
    assert.equal(r.blobs.checked, totalBlobs + 1)
    assert.deepEqual(r.problems, [])
    assert.deepEqual(r.warnings, [])
  })

  test('verify reads PDS_DID_PLC_URL from --env-file (as every command reads the PDS env file); --plc-url and the environment come first', async () => {
    const envFile = path.join(tmp('pdsctl-verify-env-'), 'pds.env')
    writeFileSync(envFile, `PDS_DID_PLC_URL=${bed.plcUrl}\n`, { mode: 0o600 })
    const res = await runCli(['backup', 'verify', dir, '--json', '--env-file', envFile], { timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual((JSON.parse(res.stdout) as VerifyReport).repos, { checked: 4, signatureVerified: 4, signatureUnchecked: 0 })
    // The environment (and PDS_ENV_FILE for the file) as elsewhere; --plc-url beats both.
    const viaEnv = await runCli(['backup', 'verify', dir, '--json'], { env: { PDS_ENV_FILE: envFile }, timeoutMs: 60_000 })
    assert.equal((JSON.parse(viaEnv.stdout) as VerifyReport).repos.signatureVerified, 4, viaEnv.stderr)
    const envWins = await runCli(['backup', 'verify', dir, '--json', '--env-file', envFile], { env: { PDS_DID_PLC_URL: 'http://127.0.0.1:9' }, timeoutMs: 60_000 })
    assert.equal((JSON.parse(envWins.stdout) as VerifyReport).repos.signatureUnchecked, 4, envWins.stderr)
    const flagWins = await runCli(['backup', 'verify', dir, '--json', '--env-file', envFile, '--plc-url', 'http://127.0.0.1:9'], { timeoutMs: 60_000 })
    assert.equal((JSON.parse(flagWins.stdout) as VerifyReport).repos.signatureUnchecked, 4, flagWins.stderr)
    const missing = await runCli(['backup', 'verify', dir, '--env-file', path.join(tmpdir(), 'no-such-pds.env')])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /cannot read env file .*no-such-pds\.env/)
  })

  test('verify says when the DID documents cannot be reached: a warning, signatures unchecked', async () => {
    const res = await runCli(['backup', 'verify', dir, '--json', '--plc-url', 'http://127.0.0.1:9'], { timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as VerifyReport
    assert.deepEqual(r.repos, { checked: 4, signatureVerified: 0, signatureUnchecked: 4 })
    assert.equal(r.warnings.length, 4)
    assert.match(r.warnings[0], /signature not checked: cannot get its DID document/)
    assert.match(res.stderr, /Warning: did:plc:\S+: signature not checked/)
    // The fix names the PLC directory's own flag, not the PDS's --url.
    assert.match(r.warnings[0], /connection refused.*Is it running, and is --plc-url \/ PDS_DID_PLC_URL right\?/)
    assert.doesNotMatch(res.stderr, /--url \/ PDS_URL/)
    const unresolved = await runCli(['backup', 'verify', dir, '--json', '--plc-url', 'https://no-such-host.invalid'], { timeoutMs: 60_000 })
    assert.equal(unresolved.code, 0, unresolved.stderr)
    assert.match((JSON.parse(unresolved.stdout) as VerifyReport).warnings[0], /cannot resolve the host no-such-host\.invalid of the PLC directory.*Check the hostname in --plc-url \/ PDS_DID_PLC_URL/)
    assert.doesNotMatch(unresolved.stderr, /PDS_HOSTNAME/)
  })

  test('verify catches a damaged blob and a truncated CAR, naming each file (exit 6)', async () => {
    const copy = tmp('pdsctl-backup-damaged-')
    cpSync(dir, copy, { recursive: true })
    const a = accts[3]
    const blobFile = path.join(accountDirOf(copy, a.did), 'blobs', blobs.get(a.did)![0])
    const bytes = readFileSync(blobFile)
    bytes[100] ^= 0xff
    writeFileSync(blobFile, bytes)
    const car = path.join(accountDirOf(copy, accts[1].did), 'repo.car')
    truncateSync(car, Math.floor(readFileSync(car).length / 2))

    const res = await runCli(['backup', 'verify', copy, '--json', '--plc-url', bed.plcUrl], { timeoutMs: 60_000 })
    assert.equal(res.code, 6, res.stderr)
    const r = JSON.parse(res.stdout) as VerifyReport
    assert.equal(r.ok, false)
    const rel = (f: string) => path.relative(copy, f)
    assert.deepEqual(r.problems.map((p) => p.file).sort(), [rel(blobFile), rel(car)].sort())
    assert.match(r.problems.find((p) => p.file === rel(blobFile))!.problem, /damaged: sha256/)
    assert.match(r.problems.find((p) => p.file === rel(car))!.problem, /damaged: \d+ bytes, the manifest says \d+/)
    assert.match(res.stderr, new RegExp(`Error: backup .* is damaged: 2 files damaged or missing: .*${path.basename(blobFile)}`))
    assert.ok(res.stderr.includes(rel(car)), res.stderr)
    assert.equal(res.stderr.includes('    at '), false, 'no stack trace')

    // The next backup run repairs what is cut short or deleted: the truncated CAR and the
    // damaged blob (once removed) are fetched again, and the copy verifies.
    rmSync(blobFile)
    const fix = await runCli(['backup', copy, '--json'], { env: bedEnv(bed), timeoutMs: 120_000 })
    assert.equal(fix.code, 0, fix.stderr)
    const fixed = JSON.parse(fix.stdout) as BackupSummary
    assert.equal(fixed.repos.full, 1)
    assert.equal(fixed.blobs.fetched, 1)
    const again = await runCli(['backup', 'verify', copy, '--json', '--plc-url', bed.plcUrl], { timeoutMs: 60_000 })
    assert.equal(again.code, 0, again.stdout)
  })

  test('a corrupted CAR with the right length is caught by the CAR parser and the sums', async () => {
    const copy = tmp('pdsctl-backup-flipped-')
    cpSync(dir, copy, { recursive: true })
    const car = path.join(accountDirOf(copy, accts[0].did), 'repo.car')
    const bytes = readFileSync(car)
    bytes[bytes.length - 10] ^= 0x01
    writeFileSync(car, bytes)
    const res = await runCli(['backup', 'verify', copy, '--json', '--offline'], { timeoutMs: 60_000 })
    assert.equal(res.code, 6)
    const r = JSON.parse(res.stdout) as VerifyReport
    assert.deepEqual(r.problems.map((p) => p.file), [path.relative(copy, car)])
    assert.match(r.warnings[0], /--offline/)
  })

  test('verify of a folder without a manifest: exit 6, says the backup never finished', async () => {
    const res = await runCli(['backup', 'verify', tmp('pdsctl-empty-'), '--offline'], { timeoutMs: 30_000 })
    assert.equal(res.code, 6)
    assert.match(res.stderr, /manifest\.json/)
  })

  test('- reads accounts from stdin; bad input is rejected before any request', async () => {
    const d = tmp('pdsctl-backup-some-')
    const res = await runCli(['backup', d, '-', '--json'], { env: bedEnv(bed), stdin: `${accts[0].handle}\n# comment\n${accts[1].did}\n`, timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as BackupSummary
    assert.equal(s.accounts, 2)
    assert.deepEqual(s.repos, { full: 2, incremental: 0, unchanged: 0 })
    const m = JSON.parse(readFileSync(path.join(d, 'manifest.json'), 'utf8')) as Manifest
    assert.deepEqual(m.accounts.map((a) => a.did).sort(), [accts[0].did, accts[1].did].sort())

    const mark = proxy.forwarded.length
    const bad = await runCli(['backup', tmp('pdsctl-backup-bad-'), '-'], { env: viaProxy(), stdin: 'not a handle!\n' })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^Error: "not a handle!" is neither a valid handle nor a DID/m)
    assert.equal(proxy.forwarded.length, mark, 'no request sent')
  })

  test('an unknown account on stdin fails that account only: exit 5, the rest backed up', async () => {
    const d = tmp('pdsctl-backup-partial-')
    const res = await runCli(['backup', d, '-', '--json'], { env: bedEnv(bed), stdin: `${accts[0].did}\nnobody.test\n` , timeoutMs: 60_000 })
    assert.equal(res.code, 5, res.stderr)
    const s = JSON.parse(res.stdout) as BackupSummary
    assert.equal(s.accounts, 1)
    assert.equal(s.errors.length, 1)
    assert.equal(s.errors[0].account, 'nobody.test')
    assert.match(s.errors[0].error, /no account with handle nobody\.test/)
    assert.match(res.stderr, /Error: 1 account failed; run the same command again to retry them/)
  })

  test('killed with SIGKILL mid-way, the next run finishes the job and the backup verifies', async () => {
    const d = tmp('pdsctl-backup-killed-')
    // A slow link: every getBlob answer waits, so the kill lands mid-run.
    const gate = await startSlowLink(bed.url, 250)
    const gateUrl = gate.url
    try {
      // One account at a time (each with 4 blobs in flight), so that the kill after 5 blob requests lands mid-run.
      const child = spawn(CLI_NODE, [BIN, 'backup', d, '--concurrency', '1', '--json'], {
        env: cleanEnv({ PDS_URL: gateUrl, PDS_ADMIN_PASSWORD: bed.adminPassword }),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)))
      // Kill once a few blobs have been asked for (the run is then about half done).
      const deadline = Date.now() + 60_000
      while (gate.blobRequests() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      child.kill('SIGKILL')
      assert.equal(await exited, 'SIGKILL')
      assert.equal(existsSync(path.join(d, 'manifest.json')), false, 'no manifest: the run did not finish')
      const half = await runCli(['backup', 'verify', d, '--offline'], { timeoutMs: 30_000 })
      assert.equal(half.code, 6, 'a half-done backup never verifies')

      const res = await runCli(['backup', d, '--json'], { env: bedEnv(bed), timeoutMs: 120_000 })
      assert.equal(res.code, 0, res.stderr)
      const s = JSON.parse(res.stdout) as BackupSummary
      assert.equal(s.accounts, 4)
      // What the killed run finished (whole accounts, single blobs) is not fetched again.
      assert.ok(s.blobs.fetched < totalBlobs + 1, `resumed: ${s.blobs.fetched} blobs fetched, ${s.blobs.skipped} skipped, repos ${JSON.stringify(s.repos)}`)
      assert.equal(s.repos.full + s.repos.unchanged, 4)
      const leftovers = readdirSync(d, { recursive: true }).map(String).filter((f) => /\.tmp-/.test(f))
      assert.deepEqual(leftovers, [], 'no temp file survives the next run')
      const v = await runCli(['backup', 'verify', d, '--json', '--plc-url', bed.plcUrl], { timeoutMs: 60_000 })
      assert.equal(v.code, 0, v.stdout + v.stderr)
      assert.equal((JSON.parse(v.stdout) as VerifyReport).repos.signatureVerified, 4)
    } finally {
      await gate.close()
    }
  })

  test('SIGTERM mid-way: exit 143 without a stack trace, and the next run finishes the job', async () => {
    const d = tmp('pdsctl-backup-term-')
    const gate = await startSlowLink(bed.url, 300)
    try {
      const child = spawn(CLI_NODE, [BIN, 'backup', d], {
        env: cleanEnv({ PDS_URL: gate.url, PDS_ADMIN_PASSWORD: bed.adminPassword }),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c))
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)))
      const deadline = Date.now() + 60_000
      while (gate.blobRequests() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      child.kill('SIGTERM')
      assert.equal(await exited, 143, stderr)
      assert.equal(stderr.includes('    at '), false, stderr)
      assert.equal(existsSync(path.join(d, 'manifest.json')), false)
      const res = await runCli(['backup', d, '--json'], { env: bedEnv(bed), timeoutMs: 120_000 })
      assert.equal(res.code, 0, res.stderr)
      const v = await runCli(['backup', 'verify', d, '--json', '--plc-url', bed.plcUrl], { timeoutMs: 60_000 })
      assert.equal(v.code, 0, v.stdout)
    } finally {
      await gate.close()
    }
  })

  test('DIR that is a file is refused before any request (exit 2)', async () => {
    const f = path.join(tmp('pdsctl-file-'), 'x')
    writeFileSync(f, 'not a folder')
    const res = await runCli(['backup', f], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /^Error: .* is not a folder\. Give the backup folder/m)
  })

  test('restore: records deleted from the PDS come back with their images, as the account', async () => {
    const a = accts[0]
    const s = await session(bed.url, a)
    const listPosts = async () =>
      ((await (await fetch(`${bed.url}/xrpc/com.atproto.repo.listRecords?repo=${a.did}&collection=app.bsky.feed.post&limit=100`)).json()) as { records: Array<{ uri: string; value: any }> }).records
    const before = await listPosts()
    assert.equal(before.length, 7)
    for (const rec of before) {
      const r = await fetch(`${bed.url}/xrpc/com.atproto.repo.deleteRecord`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessJwt}` },
        body: JSON.stringify({ repo: a.did, collection: 'app.bsky.feed.post', rkey: rec.uri.split('/').pop() }),
      })
      assert.equal(r.status, 200)
    }
    assert.equal((await listPosts()).length, 0)
    const cid = blobs.get(a.did)![0]
    assert.equal((await fetch(`${bed.url}/xrpc/com.atproto.sync.getBlob?did=${a.did}&cid=${cid}`)).status, 400, 'the image is gone too')

    // The PLC directory from the PDS's env file, as the identity commands read it: the signature is checked against it.
    const envFile = path.join(tmp('pdsctl-restore-env-'), 'pds.env')
    writeFileSync(envFile, `PDS_DID_PLC_URL=${bed.plcUrl}\n`, { mode: 0o600 })
    const dry = await runCli(['backup', 'restore', dir, a.handle, '--dry-run', '--json', '--env-file', envFile], { env: { PDS_URL: bed.url } })
    assert.equal(dry.code, 0, dry.stderr)
    const plan = JSON.parse(dry.stdout) as RestoreResult
    assert.equal(plan.signatureVerified, true, dry.stderr)
    assert.equal(plan.dryRun, true)
    assert.equal(plan.imported, false)
    assert.equal(plan.blobs, 4)
    assert.equal((await listPosts()).length, 0, 'dry run sent nothing')

    const noYes = await runCli(['backup', 'restore', dir, a.handle, '--password-stdin'], { env: { PDS_URL: bed.url }, stdin: a.password })
    assert.equal(noYes.code, 2)
    assert.match(noYes.stderr, /--yes is required/)

    const res = await runCli(['backup', 'restore', dir, a.handle, '--password-stdin', '--yes', '--json'], { env: { PDS_URL: bed.url }, stdin: a.password, timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    const r = JSON.parse(res.stdout) as RestoreResult
    assert.equal(r.did, a.did)
    assert.equal(r.imported, true)
    assert.equal(r.blobsUploaded, 4)
    assert.deepEqual(r.blobsStillMissing, [])
    const after = await listPosts()
    assert.deepEqual(after.map((x) => x.value.text).sort(), before.map((x) => x.value.text).sort())
    const got = Buffer.from(await (await fetch(`${bed.url}/xrpc/com.atproto.sync.getBlob?did=${a.did}&cid=${cid}`)).arrayBuffer())
    assert.deepEqual(got, readFileSync(path.join(accountDirOf(dir, a.did), 'blobs', cid)))
    assert.equal(res.stderr.includes(a.password), false)
  })

  test('restore: a wrong password is refused by the PDS (exit 3); a taken-down account cannot log in to import', async () => {
    const wrong = await runCli(['backup', 'restore', dir, accts[0].did, '--password-stdin', '--yes'], { env: { PDS_URL: bed.url }, stdin: 'not-the-password' })
    assert.equal(wrong.code, 3, wrong.stderr)
    assert.match(wrong.stderr, /com\.atproto\.server\.createSession failed \(AuthenticationRequired: Invalid identifier or password\)/)
    const down = await runCli(['backup', 'restore', dir, accts[1].did, '--password-stdin', '--yes'], { env: { PDS_URL: bed.url }, stdin: accts[1].password })
    assert.notEqual(down.code, 0)
    assert.match(down.stderr, /createSession failed \(AccountTakedown/)
  })

  test('restore into a deactivated account (the PDS accepts it) and into a deleted one (it refuses: the account is gone)', async () => {
    // accts[2] was deactivated by the admin in before(): it can still log in and import.
    const res = await runCli(['backup', 'restore', dir, accts[2].did, '--password-stdin', '--yes', '--json'], { env: { PDS_URL: bed.url }, stdin: accts[2].password, timeoutMs: 60_000 })
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as RestoreResult).imported, true)
    // A deleted account cannot be restored over XRPC: no session, and recreating the DID
    // needs a service-auth token signed by the account's signing key, deleted with it.
    const victim = (await bed.seed(1, 'gone'))[0]
    const d = tmp('pdsctl-backup-gone-')
    assert.equal((await runCli(['backup', d, '-'], { env: bedEnv(bed), stdin: victim.did, timeoutMs: 60_000 })).code, 0)
    await xrpc(bed.url, 'com.atproto.admin.deleteAccount', { did: victim.did }, bed.adminPassword)
    const recreate = await fetch(`${bed.url}/xrpc/com.atproto.server.createAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ did: victim.did, handle: 'gone-again.test', email: 'gone@example.com', password: victim.password }),
    })
    assert.equal(recreate.status, 401)
    assert.match(await recreate.text(), /Missing auth to create account with did/)
    const gone = await runCli(['backup', 'restore', d, victim.did, '--password-stdin', '--yes'], { env: { PDS_URL: bed.url }, stdin: victim.password })
    assert.equal(gone.code, 3)
    assert.match(gone.stderr, /createSession failed \(AuthenticationRequired: Invalid identifier or password\)/)
  })

  test('restore: an account that is not in the backup is named (exit 4), before any request', async () => {
    const res = await runCli(['backup', 'restore', dir, 'nobody.test', '--password-stdin', '--yes'], { env: { PDS_URL: 'http://127.0.0.1:9' }, stdin: 'x' })
    assert.equal(res.code, 4)
    assert.match(res.stderr, /nobody\.test is not in the backup/)
  })
})
