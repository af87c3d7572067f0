// Hostile data, family "manifests": a backup folder whose manifest.json or state.json was
// changed. Swapped DIDs, another account's CAR under an account's name, a forged commit
// signature, another PDS, repo paths and blob CIDs with `..`, a DID that is a path. Every
// case: nothing outside DIR created, changed or deleted (and nothing of it sent to the
// PDS); the bad entry named; exit 2 from restore (refused before any request), 6 from
// verify, which never names a file outside DIR and never suggests deleting one.
import assert from 'node:assert/strict'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { PdsLine } from '../bed/pds.js'
import type { BackupSummary } from '../../src/lib/backup/backup.js'
import type { RestoreResult } from '../../src/lib/backup/restore.js'
import type { VerifyReport } from '../../src/lib/backup/verify.js'
import { editManifest, family, folderName, forgeCar, hits, hostileCase, inCase, latestRev, lineLabel, pdsctl, readManifest, sha256, show, type Case, type World, withWorld } from './backupSupport.js'

/** Restore was refused before anything reached the PDS: exit 2, the entry named, the account unchanged. */
async function assertRestoreRefused(w: World, c: Case, res: Awaited<ReturnType<typeof pdsctl>>, names: RegExp, revBefore?: string): Promise<void> {
  c.assertOutsideUntouched()
  assert.equal(res.code, 2, show(res))
  assert.match(res.stderr, names, show(res))
  assert.equal(res.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1, show(res))
  for (const nsid of ['com.atproto.repo.importRepo', 'com.atproto.repo.uploadBlob']) assert.equal(hits(c, nsid), 0, `${nsid} was called`)
  if (revBefore) assert.equal(await latestRev(w, w.accts[0].did), revBefore, "alice's repository on the PDS is unchanged")
}

/**
 * verify: exit 6, the problem on a file inside DIR, no file outside named, no deletion
 * suggested. A bad identifier may be quoted as what it claims to be (`the CID "…"`): `quoted`.
 */
function assertVerifyCaught(c: Case, res: Awaited<ReturnType<typeof pdsctl>>, file: string, names: RegExp, quoted?: string): void {
  c.assertOutsideUntouched()
  assert.equal(res.code, 6, show(res))
  const r = JSON.parse(res.stdout) as VerifyReport
  assert.ok(r.problems.some((p) => p.file === file && names.test(p.problem)), JSON.stringify(r.problems))
  for (const p of r.problems) {
    const abs = path.resolve(c.dir, p.file)
    assert.ok(!path.relative(c.dir, abs).startsWith('..') && !path.isAbsolute(p.file), `verify names ${p.file}, outside DIR`)
  }
  const all = (res.stdout + res.stderr).split(quoted ?? '\u0000').join('')
  assert.ok(!/outside|passwd|secret/.test(all), `verify names a file outside DIR${show(res)}`)
  assert.ok(!/delete/i.test(all), `verify suggests deleting${show(res)}`)
}

const restoreArgs = (c: Case, account: string, ...extra: string[]) => ['backup', 'restore', c.dir, account, ...extra]
const asAlice = (w: World, c: Case) => ({ env: { PDS_URL: c.lying.url }, stdin: w.accts[0].password })

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  family(`manifests, ${lineLabel(line)}`, (tally) => {
    const world = withWorld(line)

    hostileCase(tally, "restore: alice's manifest entry points at bob's files (swapped)", () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const [alice, bob] = w.accts
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === alice.did)
          const b = m.accounts.find((x: { did: string }) => x.did === bob.did)
          for (const k of ['repo', 'diffs', 'blobs', 'head', 'rev']) [a[k], b[k]] = [b[k], a[k]]
        })
        const before = await latestRev(w, alice.did)
        const res = await pdsctl(restoreArgs(c, alice.handle, '--password-stdin', '--yes'), asAlice(w, c))
        await assertRestoreRefused(w, c, res, new RegExp(`${alice.did}.*repo`), before)
        assert.equal(hits(c, 'com.atproto.server.createSession'), 0, 'refused before logging in')
      }),
    )

    hostileCase(tally, "restore: bob's CAR under alice's name, sums made to match (the commit's DID is bob's)", () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const [alice, bob] = w.accts
        const aliceCar = path.join(c.dir, 'accounts', folderName(alice.did), 'repo.car')
        const bobCar = readFileSync(path.join(c.dir, 'accounts', folderName(bob.did), 'repo.car'))
        writeFileSync(aliceCar, bobCar)
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === alice.did)
          const b = m.accounts.find((x: { did: string }) => x.did === bob.did)
          Object.assign(a.repo, { size: bobCar.length, sha256: sha256(bobCar), rev: b.rev })
          Object.assign(a, { head: b.head, rev: b.rev })
        })
        const before = await latestRev(w, alice.did)
        for (const extra of [['--dry-run'], ['--password-stdin', '--yes']]) {
          const res = await pdsctl(restoreArgs(c, alice.did, ...extra), asAlice(w, c))
          await assertRestoreRefused(w, c, res, new RegExp(`${bob.did}`), before)
          assert.ok(res.stderr.includes(alice.did), show(res))
        }
      }),
    )

    hostileCase(tally, "restore: alice's commit re-signed by a key that is not hers (sums made to match)", () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const car = path.join(c.dir, 'accounts', folderName(alice.did), 'repo.car')
        const forged = await forgeCar(readFileSync(car), {})
        writeFileSync(car, forged)
        const { readCarWithRoot } = await import('@atproto/repo')
        const head = (await readCarWithRoot(forged)).root.toString()
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === alice.did)
          Object.assign(a.repo, { size: forged.length, sha256: sha256(forged) })
          a.head = head
        })
        const before = await latestRev(w, alice.did)
        const res = await pdsctl(restoreArgs(c, alice.did, '--password-stdin', '--yes', '--plc-url', w.bed.plcUrl), asAlice(w, c))
        await assertRestoreRefused(w, c, res, /signature/, before)
      }),
    )

    hostileCase(tally, 'restore: the manifest names another PDS: shown, refused without --allow-other-pds', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        editManifest(c.dir, (m) => {
          m.pds = { ...m.pds, url: 'https://other-pds.example.com', did: 'did:web:other-pds.example.com' }
        })
        const dry = await pdsctl(restoreArgs(c, alice.handle, '--dry-run', '--json'), asAlice(w, c))
        assert.equal(dry.code, 0, show(dry))
        const plan = JSON.parse(dry.stdout) as RestoreResult & { pds: { url: string; did: string | null } }
        assert.deepEqual([plan.pds.url, plan.pds.did, plan.did], ['https://other-pds.example.com', 'did:web:other-pds.example.com', alice.did], 'the manifest\'s PDS and DID are shown')
        const before = await latestRev(w, alice.did)
        const res = await pdsctl(restoreArgs(c, alice.handle, '--password-stdin', '--yes'), asAlice(w, c))
        await assertRestoreRefused(w, c, res, /other-pds\.example\.com.*--allow-other-pds/, before)
        const allowed = await pdsctl(restoreArgs(c, alice.handle, '--password-stdin', '--yes', '--allow-other-pds', '--json'), asAlice(w, c))
        assert.equal(allowed.code, 0, show(allowed))
        assert.equal((JSON.parse(allowed.stdout) as RestoreResult).imported, true)
        c.assertOutsideUntouched()
      }),
    )

    hostileCase(tally, 'restore: a blob CID ../../../../outside/secret (size to match) that the PDS says is missing', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const evil = '../../../../outside/secret'
        const secret = readFileSync(path.join(c.outside, 'secret'))
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === alice.did)
          a.blobs.push({ cid: evil, size: secret.length, sha256: sha256(secret), mimeType: 'text/plain' })
        })
        c.lying.answer('com.atproto.repo.listMissingBlobs', () => ({ json: { blobs: [{ cid: evil, recordUri: `at://${alice.did}/app.bsky.feed.post/3kaaaaaaaaa22` }] } }))
        const before = await latestRev(w, alice.did)
        for (const extra of [['--dry-run'], ['--password-stdin', '--yes']]) {
          const res = await pdsctl(restoreArgs(c, alice.handle, ...extra), asAlice(w, c))
          await assertRestoreRefused(w, c, res, /blob.*not a CID/, before)
          assert.ok(res.stderr.includes(JSON.stringify(evil)), show(res))
        }
      }),
    )

    hostileCase(tally, 'restore: a repo path ../outside/passwd (size to match), dry run and real', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const passwd = readFileSync(path.join(c.outside, 'passwd'))
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === alice.did)
          Object.assign(a.repo, { path: '../outside/passwd', size: passwd.length, sha256: sha256(passwd) })
        })
        const before = await latestRev(w, alice.did)
        for (const extra of [['--dry-run'], ['--password-stdin', '--yes']]) {
          const res = await pdsctl(restoreArgs(c, alice.handle, ...extra), asAlice(w, c))
          await assertRestoreRefused(w, c, res, new RegExp(`${alice.did}.*repository.*not the file pdsctl writes`), before)
          assert.ok(!res.stderr.includes('passwd'), `the outside file is not named${show(res)}`)
        }
      }),
    )

    hostileCase(tally, 'restore: a diff path with .. and a rev that is a path', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const passwd = readFileSync(path.join(c.outside, 'passwd'))
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === alice.did)
          a.diffs.push({ path: `accounts/${folderName(alice.did)}/diffs/../../../../outside/passwd`, rev: '../../../../outside/passwd', since: a.rev, size: passwd.length, sha256: sha256(passwd) })
        })
        const res = await pdsctl(restoreArgs(c, alice.handle, '--dry-run'), asAlice(w, c))
        await assertRestoreRefused(w, c, res, /rev "\.\.\/\.\.\/\.\.\/\.\.\/outside\/passwd" is not a TID/)
      }),
    )

    hostileCase(tally, 'verify: a repo path ../outside/passwd is a problem of manifest.json, named and never read', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const passwd = readFileSync(path.join(c.outside, 'passwd'))
        editManifest(c.dir, (m) => {
          Object.assign(m.accounts.find((x: { did: string }) => x.did === w.accts[0].did).repo, { path: '../outside/passwd', size: passwd.length + 1, sha256: sha256(passwd) })
        })
        const res = await pdsctl(['backup', 'verify', c.dir, '--offline', '--json'])
        assertVerifyCaught(c, res, 'manifest.json', new RegExp(`${w.accts[0].did}.*repository.*not the file pdsctl writes`))
      }),
    )

    hostileCase(tally, 'verify: a blob CID ../../../../outside/secret is a problem of manifest.json', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        editManifest(c.dir, (m) => {
          m.accounts.find((x: { did: string }) => x.did === w.accts[1].did).blobs.push({ cid: '../../../../outside/secret', size: 1, sha256: '00', mimeType: null })
        })
        const res = await pdsctl(['backup', 'verify', c.dir, '--offline', '--json'])
        assertVerifyCaught(c, res, 'manifest.json', /not a CID/, '../../../../outside/secret')
      }),
    )

    hostileCase(tally, 'verify: an account whose DID is a path (did:plc:/../../outside)', () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        editManifest(c.dir, (m) => {
          const a = m.accounts.find((x: { did: string }) => x.did === w.accts[2].did)
          a.did = 'did:plc:/../../outside'
          a.repo.path = 'accounts/did_plc_/../../outside/passwd'
        })
        const res = await pdsctl(['backup', 'verify', c.dir, '--offline', '--json'])
        assertVerifyCaught(c, res, 'manifest.json', /not a DID a PDS hosts/, 'did:plc:/../../outside')
      }),
    )

    hostileCase(tally, "backup: a state.json that names files outside DIR is set aside (a fresh full copy), never used", () =>
      inCase(world(), { copyBase: true }, async (c) => {
        const w = world()
        const alice = w.accts[0]
        const stateFile = path.join(c.dir, 'accounts', folderName(alice.did), 'state.json')
        const state = JSON.parse(readFileSync(stateFile, 'utf8'))
        const passwd = readFileSync(path.join(c.outside, 'passwd'))
        const diff = readFileSync(path.join(c.outside, 'victim', 'diffs', 'b.car'))
        state.repo = { ...state.repo, path: '../../../outside/passwd', size: passwd.length, sha256: sha256(passwd) }
        state.diffs = [{ path: '../../../outside/victim/diffs/b.car', size: diff.length, sha256: sha256(diff), rev: state.rev, since: state.rev }]
        writeFileSync(stateFile, JSON.stringify(state))
        const res = await pdsctl(['backup', c.dir, '--json'], { env: c.env })
        c.assertOutsideUntouched()
        assert.equal(res.code, 0, show(res))
        const s = JSON.parse(res.stdout) as BackupSummary
        assert.deepEqual(s.repos, { full: 1, incremental: 0, unchanged: 2 })
        assert.match(res.stderr, new RegExp(`Warning: .*${path.join('accounts', folderName(alice.did), 'state.json')}.*not the file`), show(res))
        const m = readManifest(c.dir)
        for (const a of m.accounts) for (const f of [a.repo, ...a.diffs, a.account]) assert.match(f.path, /^accounts\/did_[a-z0-9_.%-]+\/(repo\.car|account\.json|diffs\/[a-z2-7]{13}\.car)$/)
        assert.equal(statSync(stateFile).mode & 0o777, 0o600)
        const v = await pdsctl(['backup', 'verify', c.dir, '--offline', '--json'])
        assert.equal(v.code, 0, show(v))
      }),
    )
  })
}
