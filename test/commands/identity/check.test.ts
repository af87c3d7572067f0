// identity show and identity check against a real PDS and its real PLC directory, both PDS
// lines: healthy accounts, and accounts made unhealthy through the directory itself (an
// endpoint elsewhere, the PDS's rotation key removed, a handle that no longer resolves, a
// signing key that no longer verifies commits, a fresh operation).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Secp256k1Keypair } from '@atproto/crypto'
import { startTestBed, type PdsLine, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { startLyingServer, type LyingServer } from '../../bed/lying.js'
import { startFakeKube } from '../../bed/fakeKube.js'
import { noKubectlLeft } from '../../helpers/processes.js'
import { runCli } from '../../helpers/cli.js'
import { envFileFor, plcUpdate } from './helpers.js'
import type { IdentityShowResult } from '../../../src/commands/identity/show.js'
import type { CheckSummary, IdentityReport, PdsRotationKey } from '../../../src/lib/identity/identityCheck.js'

interface CheckJson {
  plcUrl: string
  publicUrl: string
  pdsRotationKey: PdsRotationKey | null
  accounts: IdentityReport[]
  summary: CheckSummary
}

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  describe(`identity show and check, PDS ${line}.x`, () => {
    let bed: TestBed
    let healthy: SeededAccount[]
    let sick: Record<'endpoint' | 'rotation' | 'handle' | 'signing' | 'fresh', SeededAccount>
    let envFile: string
    let userKey: Secp256k1Keypair
    const run = (args: string[], extra: Record<string, string | undefined> = {}, stdin?: string) =>
      runCli([...args, '--public-url', bed.publicUrl], { env: { PDS_URL: bed.url, PDS_ENV_FILE: envFile, ...extra }, stdin, timeoutMs: 120_000 })

    before(async () => {
      bed = await startTestBed({ line })
      healthy = await bed.seed(3, 'well')
      const [endpoint, rotation, handle, signing, fresh] = await bed.seed(5, 'sick')
      sick = { endpoint, rotation, handle, signing, fresh }
      envFile = envFileFor(bed)
      userKey = await Secp256k1Keypair.create()
      await plcUpdate(bed, endpoint.did, (d) => ({ ...d, services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://elsewhere.example' } } }))
      await plcUpdate(bed, rotation.did, (d) => ({ ...d, rotationKeys: [userKey.did()] }))
      await plcUpdate(bed, handle.did, (d) => ({ ...d, alsoKnownAs: ['at://nobody.test'] }))
      const stranger = (await Secp256k1Keypair.create()).did()
      await plcUpdate(bed, signing.did, (d) => ({ ...d, verificationMethods: { atproto: stranger } }))
      await plcUpdate(bed, fresh.did, (d) => d)
    })
    after(() => bed?.close())

    test('show: a healthy account, its log signed by this PDS, its keys named', async () => {
      const res = await run(['identity', 'show', healthy[0].handle, '--json'])
      assert.equal(res.code, 0, res.stderr)
      const r = JSON.parse(res.stdout) as IdentityShowResult
      assert.equal(r.did, healthy[0].did)
      assert.equal(r.handle, healthy[0].handle)
      assert.equal(r.pdsEndpoint, bed.publicUrl)
      assert.equal(r.status, 'active')
      assert.deepEqual(r.rotationKeys, [
        { key: bed.recoveryDidKey, priority: 1, owner: 'pds-recovery' },
        { key: bed.rotationKeyDid, priority: 2, owner: 'this-pds' },
      ])
      assert.deepEqual(r.pdsRotationKey, { didKey: bed.rotationKeyDid, source: `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX in ${envFile}`, inferred: false })
      assert.equal(r.log?.length, 1)
      assert.equal(r.log![0].signedBy, bed.rotationKeyDid)
      assert.equal(r.log![0].consistent, true, 'the genesis hashes to the DID and its CID is the directory\'s')
      assert.deepEqual(r.problems, [])
      assert.deepEqual(r.warnings, [])
      // The commit checked is the PDS's latest.
      const latest = (await fetch(`${bed.url}/xrpc/com.atproto.sync.getLatestCommit?did=${r.did}`).then((x) => x.json())) as { cid: string }
      assert.equal(r.latestCommit?.cid, latest.cid)
      assert.equal(r.ok, true)
      // The key itself is in no output.
      assert.ok(!res.stdout.includes(bed.rotationKeyHex) && !res.stderr.includes(bed.rotationKeyHex))
    })

    test('show: each way an identity breaks is its own problem, with its fix; exit 6', async () => {
      const cases: Array<[SeededAccount, string, RegExp]> = [
        [sick.endpoint, 'endpoint', /points at https:\/\/elsewhere\.example, not this PDS/],
        [sick.rotation, 'rotation-key', /this PDS's rotation key did:key:\S+ is not among the rotation keys/],
        [sick.handle, 'handle', /nobody\.test does not resolve back to did:plc:/],
        [sick.signing, 'signing-key', /does not verify the latest commit/],
      ]
      for (const [acct, id, message] of cases) {
        const res = await run(['identity', 'show', acct.did, '--json'])
        assert.equal(res.code, 6, `${id}: ${res.stderr}`)
        const r = JSON.parse(res.stdout) as IdentityShowResult
        assert.deepEqual(r.problems.map((p) => p.id), [id], `${id}: ${JSON.stringify(r.problems)}`)
        assert.match(r.problems[0].message, message)
        assert.ok(r.problems[0].fix, `${id} has a fix`)
        assert.ok(r.warnings.some((w) => w.id === 'recent-operation'), `${id}: the operation is fresh`)
        assert.match(res.stderr, new RegExp(`^Error: \\S+ has 1 identity problem: ${id}\\n$`))
      }
      // The log says what changed and who signed it.
      const r = JSON.parse((await run(['identity', 'show', sick.rotation.did, '--json'])).stdout) as IdentityShowResult
      assert.deepEqual(r.rotationKeys, [{ key: userKey.did(), priority: 1, owner: 'unknown' }])
      assert.ok(r.warnings.some((w) => w.id === 'unknown-rotation-key' && w.message.includes(userKey.did())))
      assert.deepEqual(r.log!.map((e) => [e.changes.map((c) => c.field), e.signedBy]), [
        [['created'], bed.rotationKeyDid],
        [['rotationKeys'], bed.rotationKeyDid],
      ])
    })

    test('show: a fresh operation that changes nothing is a warning only (exit 0), on a terminal and piped', async () => {
      const res = await run(['identity', 'show', sick.fresh.handle, '--json'])
      assert.equal(res.code, 0, res.stderr)
      const r = JSON.parse(res.stdout) as IdentityShowResult
      assert.deepEqual(r.problems, [])
      assert.deepEqual(r.warnings.map((w) => w.id), ['recent-operation'])
      assert.match(r.warnings[0].message, /an operation of \S+ \(no change\) is less than 72 hours old: until \S+ a higher-priority rotation key can undo it/)
      const piped = await run(['identity', 'show', sick.fresh.handle])
      assert.equal(piped.code, 0, piped.stderr)
      const rows = piped.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
      assert.deepEqual(rows.filter((x) => x[0] === 'rotation-key').map((x) => x.slice(1)), [['1', bed.recoveryDidKey, 'pds-recovery'], ['2', bed.rotationKeyDid, 'this-pds']])
      assert.deepEqual(rows.filter((x) => x[0] === 'operation').map((x) => [x[2], x[3], x[4]]), [
        [`created (${sick.fresh.handle} on ${bed.publicUrl})`, bed.rotationKeyDid, 'in-force'],
        ['no change', bed.rotationKeyDid, 'in-force'],
      ])
      assert.equal(rows.filter((x) => x[0] === 'warning' && x[1] === 'recent-operation').length, 1)
      const table = await run(['identity', 'show', sick.fresh.handle], { PDSCTL_FORCE_TTY: '1' })
      assert.match(table.stdout, /PRIORITY +ROTATION KEY +OWNER/)
      assert.match(table.stdout, /WARN +recent-operation/)
    })

    test('check: every account, a summary by problem, exit 6; only the ones to look at are listed', async () => {
      const res = await run(['identity', 'check', '--json'])
      assert.equal(res.code, 6, res.stderr)
      const out = JSON.parse(res.stdout) as CheckJson
      assert.equal(out.publicUrl, bed.publicUrl)
      assert.equal(out.pdsRotationKey?.didKey, bed.rotationKeyDid)
      assert.equal(out.summary.checked, 8)
      assert.equal(out.summary.ok, 4)
      assert.equal(out.summary.withProblems, 4)
      assert.deepEqual(Object.entries(out.summary.problems).sort(), [['endpoint', 1], ['handle', 1], ['rotation-key', 1], ['signing-key', 1]])
      assert.equal(out.summary.warnings['recent-operation'], 5)
      assert.equal(out.summary.warnings['unknown-rotation-key'], 1)
      assert.deepEqual(out.accounts.map((a) => a.did).sort(), Object.values(sick).map((a) => a.did).sort())
      assert.ok(out.accounts.every((a) => a.log === undefined))
      assert.match(res.stderr, /^Error: 4 of 8 accounts have an identity problem: /m)

      const piped = await run(['identity', 'check', '--all'])
      assert.equal(piped.code, 6)
      const rows = piped.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
      assert.equal(rows.length, 8)
      assert.deepEqual(rows.find((x) => x[2] === sick.endpoint.did)?.slice(0, 6), ['fail', sick.endpoint.handle, sick.endpoint.did, 'active', 'endpoint', 'recent-operation'])
      assert.deepEqual(rows.find((x) => x[2] === healthy[1].did)?.slice(0, 6), ['pass', healthy[1].handle, healthy[1].did, 'active', '-', '-'])
      assert.match(piped.stderr, /8 accounts checked: 4 without a problem, 4 with, 5 with a warning/)
      assert.match(piped.stderr, /  endpoint: 1 — the DID document points at another PDS/)
    })

    test('check --problem NAME --output did: the DIDs to pipe on, one a line', async () => {
      const res = await run(['identity', 'check', '--problem', 'signing-key', '--output', 'did'])
      assert.equal(res.code, 6, res.stderr)
      assert.equal(res.stdout, `${sick.signing.did}\n`)
      const all = await run(['identity', 'check', '--output', 'did'])
      assert.deepEqual(all.stdout.trimEnd().split('\n').sort(), [sick.endpoint.did, sick.rotation.did, sick.handle.did, sick.signing.did].sort())
    })

    test('without the rotation key at hand, the key most accounts share is used, marked inferred', async () => {
      for (const recovery of [bed.recoveryDidKey, undefined]) {
        // Only the URLs: no env file, no key. Without PDS_RECOVERY_DID_KEY the recovery key is in
        // every account too; the PDS's is the one that signed their creation.
        const res = await runCli(['identity', 'check', '--json', '--public-url', bed.publicUrl, '--plc-url', bed.plcUrl], { env: { PDS_URL: bed.url, PDS_RECOVERY_DID_KEY: recovery }, timeoutMs: 120_000 })
        assert.equal(res.code, 6, res.stderr)
        const out = JSON.parse(res.stdout) as CheckJson
        assert.equal(out.pdsRotationKey?.didKey, bed.rotationKeyDid)
        assert.equal(out.pdsRotationKey?.inferred, true)
        assert.match(res.stderr, /Warning: the PDS's rotation key is inferred: did:key:\S+ is the key \d+ of \d+ sampled accounts share/)
        assert.equal(out.summary.problems['rotation-key'], 1)
        const flagged = out.accounts.find((a) => a.did === sick.rotation.did)!
        assert.match(flagged.problems[0].message, /\(inferred\)/)
      }
    })

    test('a directory that answers a web page fails the check (exit 1, one line), it is no account\'s problem', async () => {
      const plc = await startLyingServer({ upstream: bed.plcUrl })
      try {
        plc.answer('*', () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html><title>Sign in</title></html>' }))
        for (const json of [false, true]) {
          const res = await run(['identity', 'check', '--plc-url', plc.url, ...(json ? ['--json'] : [])])
          assert.equal(res.code, 1, res.stderr)
          assert.match(res.stderr, /^Error: the PLC audit log of did:plc:\S+: http:\/\/127\.0\.0\.1:\d+ answered HTTP 200 with something that is not JSON \(text\/html\)\. Check --plc-url/m)
          assert.equal(res.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1)
          if (json) assert.equal((JSON.parse(res.stdout) as { error: { exitCode: number } }).error.exitCode, 1)
          else assert.equal(res.stdout, '')
        }
      } finally {
        await plc.close()
      }
    })

    test('the rotation key from the Kubernetes Secret (through kubectl, never in argv or output)', async () => {
      const kube = await startFakeKube({ backendPort: bed.port, secrets: { bluesky: { adminPassword: bed.adminPassword, plcRotationKey: bed.rotationKeyHex } } })
      try {
        const res = await runCli(
          ['identity', 'show', healthy[0].did, '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky', '--plc-url', bed.plcUrl, '--public-url', bed.publicUrl, '--json', '--debug'],
          { env: kube.env, timeoutMs: 120_000 },
        )
        assert.equal(res.code, 0, res.stderr)
        const r = JSON.parse(res.stdout) as IdentityShowResult
        assert.deepEqual(r.pdsRotationKey, { didKey: bed.rotationKeyDid, source: 'key plcRotationKey of Secret bluesky', inferred: false })
        assert.ok(kube.requests.some((q) => q.method === 'GET' && q.path.includes('/secrets/bluesky')), 'the Secret was read')
        assert.ok(!res.stdout.includes(bed.rotationKeyHex) && !res.stderr.includes(bed.rotationKeyHex), 'the key is in no output, --debug included')
        assert.deepEqual(await noKubectlLeft(kube.cacheDir), [], 'no kubectl survives')
      } finally {
        await kube.close()
      }
    })

    test('the PLC directory gets no credential, and a 429 pauses the check for its Retry-After', async () => {
      const plc: LyingServer = await startLyingServer({ upstream: bed.plcUrl })
      try {
        // When each request was answered (the lie runs once the real directory has answered);
        // the first audit-log request is told 429, Retry-After: 1, once.
        const seen: Array<{ at: number; path: string; limited: boolean }> = []
        plc.lie('*', (_real, req) => {
          const limited = !seen.some((x) => x.limited) && req.path.endsWith('/log/audit')
          seen.push({ at: Date.now(), path: req.path, limited })
          return limited ? { status: 429, headers: { 'retry-after': '1' }, json: { message: 'Too Many Requests' } } : undefined
        })
        // One request at a time to the directory, so the one after the 429 is the next one sent.
        const res = await run(['identity', 'check', '--json', '--plc-url', plc.url, '--concurrency', '1'], { PDS_ADMIN_PASSWORD: bed.adminPassword })
        assert.equal(res.code, 6, res.stderr)
        assert.equal((JSON.parse(res.stdout) as CheckJson).summary.checked, 8, 'every account was checked despite the 429')
        assert.ok(plc.requests.length >= 9)
        for (const r of plc.requests) {
          assert.equal(r.headers.authorization, undefined, `${r.method} ${r.path} carried a credential`)
          assert.ok(!JSON.stringify(r.headers).includes(bed.adminPassword))
        }
        const i = seen.findIndex((x) => x.limited)
        assert.ok(i >= 0 && i < seen.length - 1)
        // Nothing reached the directory again before the Retry-After had passed (a lower bound: never flaky).
        assert.ok(seen[i + 1].at - seen[i].at >= 990, `the next request came ${seen[i + 1].at - seen[i].at} ms after the 429`)
        // The rate-limited account was asked again and checked like the others.
        assert.equal(seen.filter((x) => x.path === seen[i].path).length, 2)
      } finally {
        await plc.close()
      }
    })
  })
}
