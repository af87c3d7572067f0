// `pdsctl account migrate` between two real PDSes 0.5.x sharing one PLC directory and one
// SMTP catcher: a whole migration in and out, the plan and the status without a password,
// the failures (a wrong PLC token, a target refusing imports, bad input), and what is left
// on both PDSes and the PLC directory afterwards, read with plain fetch.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { startTwoPdses, type TwoPdses } from '../../bed/twoPds.js'
import { runCli } from '../../helpers/cli.js'
import { runPty } from '../../helpers/pty.js'
import type { MigrationReport } from '../../../src/lib/migrate/report.js'
import { blobBytes, finish, json, login, migrate, migrationHome, observe, plcDoc, plcMails, plcToken, publicUrl, seedMigrant, xrpc } from './migrateSupport.js'

function stateFiles(home: string): string[] {
  const dir = path.join(home, '.config/pdsctl/migrations')
  return readdirSync(dir).map((f) => path.join(dir, f))
}

describe('pdsctl account migrate (0.5.x → 0.5.x)', () => {
  let pair: TwoPdses
  before(async () => {
    pair = await startTwoPdses()
  })
  after(() => pair.close())

  test('the plan and the status need no password and change nothing; a whole migration in, in two runs; the result on both PDSes and the PLC directory', async () => {
    const alice = await seedMigrant(pair.old, 'alice')
    const home = migrationHome()
    const run = { direction: 'in' as const, home }
    const docBefore = await plcDoc(pair, alice.did)

    // The plan: by handle, no password, nothing asked (stdin is not a terminal), nothing changed.
    const plan = await migrate(pair, alice.handle, run, ['--dry-run', '--json'])
    assert.equal(plan.code, 0, plan.stderr)
    const p = json<MigrationReport>(plan)
    assert.equal(p.mode, 'plan')
    assert.equal(p.status, 'not-started')
    assert.equal(p.did, alice.did)
    assert.deepEqual(p.handle, { old: alice.handle, new: 'alice.new.test' })
    assert.deepEqual(p.steps.map((s) => [s.id, s.state]), [
      ['account', 'todo'], ['repo', 'todo'], ['blobs', 'todo'], ['preferences', 'todo'],
      ['identity', 'todo'], ['activate', 'todo'], ['deactivate', 'todo'], ['verify', 'todo'],
    ])
    assert.deepEqual(p.steps.filter((s) => s.irreversible).map((s) => s.id), ['identity', 'deactivate'])
    assert.equal(p.identity.pointsAt, 'old')
    assert.deepEqual(p.active, { old: true, new: null })
    const text = await migrate(pair, alice.handle, run, ['--dry-run'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^identity\ttodo\t.*\[irreversible\]$/m)
    assert.equal((await xrpc(pair.new.url, 'com.atproto.sync.getRepoStatus', { query: { did: alice.did } })).status, 400, 'no account on the new PDS')
    assert.deepEqual(await plcDoc(pair, alice.did), docBefore)

    // A run in a script without --yes is refused before anything changes.
    const noYes = await migrate(pair, alice.handle, run, ['--password-stdin'], { stdin: alice.password })
    assert.equal(noYes.code, 2, noYes.stderr)
    assert.match(noYes.stderr, /--yes is required/)
    assert.match(noYes.stderr, /Irreversible: the PLC operation/)
    assert.equal((await xrpc(pair.new.url, 'com.atproto.sync.getRepoStatus', { query: { did: alice.did } })).status, 400)

    // Run 1: everything up to the identity, then it waits for the mailed token (exit 0).
    const mailsBefore = plcMails(pair, alice.email)
    const first = await migrate(pair, alice.handle, run, ['--password-stdin', '--yes', '--json'], { stdin: alice.password + '\n' })
    assert.equal(first.code, 0, first.stderr)
    const r1 = json<MigrationReport>(first)
    assert.equal(r1.status, 'waiting-for-token')
    assert.deepEqual(r1.steps.map((s) => s.state), ['done', 'done', 'done', 'done', 'waiting', 'todo', 'todo', 'todo'])
    assert.equal(r1.counts.blobs.copied, alice.blobs.length)
    assert.equal(r1.counts.records.new, alice.records)
    assert.match(r1.next ?? '', /^pdsctl account migrate did:plc:\S+ --from http:\/\/127\.0\.0\.1:\d+ .*--token CODE$/)
    assert.match(first.stderr, /continue with: pdsctl account migrate .* --token CODE/)
    assert.equal(plcMails(pair, alice.email), mailsBefore + 1, 'one PLC token mailed')
    // The generated password: in the result once, and it logs in.
    const password = r1.newPassword
    assert.match(password ?? '', /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/)
    await login(pair.new.url, alice.did, password!)
    // The identity has not moved, the old account is untouched.
    assert.deepEqual(await plcDoc(pair, alice.did), docBefore)
    assert.equal((await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did: alice.did } })).body.active, true)

    // The state file: 0600 in a 0700 folder, no password in it.
    const [file] = stateFiles(home)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700)
    const saved = readFileSync(file, 'utf8')
    assert.ok(!saved.includes(alice.password) && !saved.includes(password!), 'no password in the state file')

    // --status, no password: where it stands.
    const status = json<MigrationReport>(await migrate(pair, alice.did, run, ['--status', '--json']))
    assert.equal(status.status, 'waiting-for-token')
    assert.equal(status.steps.find((s) => s.id === 'identity')?.state, 'waiting')
    assert.equal(status.counts.blobs.missing, 0)

    // Run 2 with the token from the mail: done and verified.
    const token = await plcToken(pair, alice.email)
    const second = await migrate(pair, alice.did, run, ['--password-stdin', '--yes', '--token', token, '--json'], { stdin: alice.password })
    assert.equal(second.code, 0, second.stderr)
    const r2 = json<MigrationReport>(second)
    assert.equal(r2.status, 'done')
    assert.ok(r2.steps.every((s) => s.state === 'done'))
    assert.equal(r2.newPassword, undefined, 'the password is shown only in the run that made it')
    assert.deepEqual(r2.active, { old: false, new: true })
    assert.equal(r2.identity.pointsAt, 'new')
    for (const secret of [alice.password, password!, token]) {
      assert.ok(!second.stdout.includes(secret) && !second.stderr.includes(secret), 'no secret printed')
    }

    // Both PDSes and the PLC directory agree.
    const o = await observe(pair, alice.did, { oldPassword: alice.password, newPassword: password })
    assert.equal(o.doc.service[0].serviceEndpoint, publicUrl(pair.new))
    assert.deepEqual(o.doc.alsoKnownAs, ['at://alice.new.test'])
    const rec = (await xrpc(pair.new.url, 'com.atproto.identity.getRecommendedDidCredentials', { bearer: await login(pair.new.url, alice.did, password!) })).body
    assert.equal(o.data.verificationMethods.atproto, rec.verificationMethods.atproto)
    assert.deepEqual(o.data.rotationKeys, rec.rotationKeys)
    assert.deepEqual(o.oldStatus, { did: alice.did, active: false, status: 'deactivated' })
    assert.equal(o.newStatus.active, true)
    assert.equal(o.newCheck.repoCommit, o.oldCheck.repoCommit, 'the same commit as imported')
    assert.equal(o.newCheck.indexedRecords, alice.records)
    assert.equal(o.newCheck.importedBlobs, alice.blobs.length)
    assert.deepEqual(o.missing.blobs, [])
    assert.deepEqual(o.newPrefs, o.oldPrefs)
    assert.equal(o.newPrefs.preferences.length, 2)
    for (const b of alice.blobs) {
      const got = await xrpc(pair.new.url, 'com.atproto.sync.getBlob', { query: { did: alice.did, cid: b.cid } })
      assert.equal(got.status, 200)
      assert.equal((got.body as Buffer).length, b.size)
    }
    assert.equal((await xrpc(pair.new.url, 'com.atproto.identity.resolveHandle', { query: { handle: 'alice.new.test' } })).body.did, alice.did)
    // The session kept for the migration is gone from the state file.
    assert.ok(!readFileSync(file, 'utf8').includes('refreshJwt'))

    // Afterwards: --status says done, and a run has nothing to do (by the old handle, which only the state file still knows).
    const after = json<MigrationReport>(await migrate(pair, alice.handle, run, ['--status', '--json']))
    assert.equal(after.status, 'done', JSON.stringify(after.steps))
    const again = await migrate(pair, alice.did, run, ['--password-stdin', '--yes', '--json'], { stdin: alice.password })
    assert.equal(again.code, 0, again.stderr)
    assert.equal(json<MigrationReport>(again).status, 'done')
  })

  test('out of the connected PDS (--to) into one that wants an invite code (--invite-code), chosen handle and email', async () => {
    const bob = await seedMigrant(pair.old, 'bob', { posts: 3, sizes: [5_000] })
    const home = migrationHome()
    const run = { direction: 'out' as const, home }
    // pdsctl holds only the old PDS's admin password here: the new one's invite code comes from its operator.
    const code = (await xrpc(pair.new.url, 'com.atproto.server.createInviteCode', { body: { useCount: 1 } })).status
    assert.equal(code, 401, 'the bed does not hand out codes without the admin password')
    const results = await finish(pair, bob, run, ['--password-stdin', '--new-password-stdin', '--yes', '--handle', 'robert.new.test', '--email', 'robert@example.com'], `${bob.password}\nrobert-new-pass-1\n`)
    const last = json<MigrationReport>(results.at(-1)!)
    assert.equal(last.status, 'done', results.map((r) => r.stderr).join('\n---\n'))
    assert.equal(last.direction, 'out')
    assert.deepEqual(last.handle, { old: bob.handle, new: 'robert.new.test' })
    const o = await observe(pair, bob.did, { oldPassword: bob.password, newPassword: 'robert-new-pass-1' })
    assert.deepEqual(o.doc.alsoKnownAs, ['at://robert.new.test'])
    assert.equal(o.doc.service[0].serviceEndpoint, publicUrl(pair.new))
    const session = (await xrpc(pair.new.url, 'com.atproto.server.createSession', { body: { identifier: 'robert.new.test', password: 'robert-new-pass-1' } })).body
    assert.equal(session.email, 'robert@example.com')
    assert.equal(o.newCheck.importedBlobs, 1)
    assert.deepEqual(o.oldStatus.active, false)
  })

  test('a wrong PLC token: exit 3, nothing signed, the DID document unchanged; the right one then finishes', async () => {
    const carol = await seedMigrant(pair.old, 'carol', { posts: 2, sizes: [2_000] })
    const run = { direction: 'in' as const, home: migrationHome() }
    const args = ['--password-stdin', '--new-password-stdin', '--yes']
    const stdin = `${carol.password}\ncarol-new-pass-1\n`
    const first = await migrate(pair, carol.did, run, [...args, '--json'], { stdin })
    assert.equal(json<MigrationReport>(first).status, 'waiting-for-token', first.stderr)
    const docBefore = await plcDoc(pair, carol.did)
    const wrong = await migrate(pair, carol.did, run, [...args, '--token', 'AAAAA-BBBBB', '--json'], { stdin })
    assert.equal(wrong.code, 3, wrong.stderr)
    assert.match(wrong.stderr, /^Error: account migrate: the identity step failed: the old PDS rejected the PLC token \(InvalidToken/m)
    assert.match(wrong.stderr, /Continue: pdsctl account migrate/)
    assert.match(wrong.stderr, /Undo: the old account is untouched and active: delete the unused new one with `pdsctl account delete did:plc:\S+ --yes/)
    const report = json<MigrationReport>(wrong)
    assert.equal(report.status, 'failed')
    assert.equal(report.steps.find((s) => s.id === 'identity')?.state, 'failed')
    assert.deepEqual(await plcDoc(pair, carol.did), docBefore)
    assert.equal((await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did: carol.did } })).body.active, true)
    // --status remembers where the last run failed, and why.
    const status = json<MigrationReport>(await migrate(pair, carol.did, run, ['--status', '--json']))
    assert.equal(status.status, 'failed')
    assert.match(status.steps.find((s) => s.id === 'identity')?.detail ?? '', /failed here: the old PDS rejected the PLC token/)
    // The token mailed earlier still works: the wrong one spent nothing.
    const token = await plcToken(pair, carol.email)
    const ok = await migrate(pair, carol.did, run, [...args, '--token', token, '--json'], { stdin })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(json<MigrationReport>(ok).status, 'done')
  })

  test('posts made on the old PDS while the migration waits for its token come along before the identity moves', async () => {
    const erin = await seedMigrant(pair.old, 'erin', { posts: 4, sizes: [3_000] })
    const run = { direction: 'in' as const, home: migrationHome() }
    const args = ['--password-stdin', '--new-password-stdin', '--yes']
    const stdin = `${erin.password}\nerin-new-pass-1\n`
    const first = await migrate(pair, erin.did, run, [...args, '--json'], { stdin })
    assert.equal(json<MigrationReport>(first).status, 'waiting-for-token', first.stderr)
    // The user goes on posting (with an image) on the old PDS meanwhile.
    const jwt = await login(pair.old.url, erin.did, erin.password)
    const up = await xrpc(pair.old.url, 'com.atproto.repo.uploadBlob', { raw: blobBytes(9_000), type: 'image/png', bearer: jwt })
    const late = await xrpc(pair.old.url, 'com.atproto.repo.createRecord', {
      bearer: jwt,
      body: { repo: erin.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: 'written mid-migration', createdAt: new Date().toISOString(), embed: { $type: 'app.bsky.embed.images', images: [{ alt: '', image: up.body.blob }] } } },
    })
    assert.equal(late.status, 200)
    const status = json<MigrationReport>(await migrate(pair, erin.did, run, ['--status', '--json']))
    assert.equal(status.steps.find((s) => s.id === 'repo')?.state, 'todo', 'the status sees the old repository moved on')
    const token = await plcToken(pair, erin.email)
    const second = await migrate(pair, erin.did, run, [...args, '--token', token, '--json'], { stdin })
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stderr, /repo: copying the repository \(what changed since rev \w+\)/)
    assert.equal(json<MigrationReport>(second).status, 'done')
    const o = await observe(pair, erin.did, { oldPassword: erin.password, newPassword: 'erin-new-pass-1' })
    assert.equal(o.newCheck.repoCommit, o.oldCheck.repoCommit)
    assert.equal(o.newCheck.indexedRecords, erin.records + 1)
    assert.equal(o.newCheck.importedBlobs, 2)
    const rec = await xrpc(pair.new.url, 'com.atproto.repo.getRecord', { query: { repo: erin.did, collection: 'app.bsky.feed.post', rkey: late.body.uri.split('/').pop() } })
    assert.equal(rec.body.value.text, 'written mid-migration')
  })

  test('on a terminal: the plan, a question, the old password hidden, the token asked for, progress, done', async () => {
    const fay = await seedMigrant(pair.old, 'fay', { posts: 2, sizes: [2_000, 600_000] })
    const home = migrationHome()
    const t = runPty(['account', 'migrate', fay.handle, '--from', pair.old.url, '--plc-url', pair.plcUrl], {
      PDS_URL: pair.new.url,
      PDS_ADMIN_PASSWORD: pair.new.adminPassword,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
    }, { columns: 250 })
    await t.waitFor(/Irreversible: the PLC operation/)
    await t.waitFor(/Migrate did:plc:\S+ from http:\/\/127\.0\.0\.1:\d+ to http:\/\/127\.0\.0\.1:\d+\?/)
    t.write('y\r')
    await t.waitFor(/Password of fay\.old\.test on http:\/\/127\.0\.0\.1:\d+:/)
    t.write(fay.password + '\r')
    await t.waitFor(/New password of fay\.new\.test on .* \(shown once: keep it now\): [A-Za-z0-9-]{23}/)
    await t.waitFor(/PLC token from the mail sent to f…@example\.com/, 60_000)
    t.write((await plcToken(pair, fay.email)) + '\r')
    await t.waitFor(/verify: done/, 60_000)
    assert.equal(await t.exited, 0)
    assert.ok(!t.screen.includes(fay.password), 'the old password is not echoed')
    assert.match(t.screen, /STEP\s+STATE\s+DETAIL/)
    const newPassword = /shown once: keep it now\): ([A-Za-z0-9-]{23})/.exec(t.screen)![1]
    const o = await observe(pair, fay.did, { oldPassword: fay.password, newPassword })
    assert.equal(o.doc.service[0].serviceEndpoint, publicUrl(pair.new))
    assert.equal(o.newCheck.importedBlobs, 2)
  })

  test('a blob the old PDS lost: the identity waits (exit 4) unless --allow-missing-blobs; then verification names it (exit 6)', async () => {
    const gus = await seedMigrant(pair.old, 'gus', { posts: 2, sizes: [4_000, 5_000] })
    const lost = gus.blobs[1].cid
    const location = (pair.old.pds.ctx.cfg.blobstore as { location: string }).location
    rmSync(path.join(location, gus.did, lost))
    const run = { direction: 'in' as const, home: migrationHome() }
    const args = ['--password-stdin', '--new-password-stdin', '--yes']
    const stdin = `${gus.password}\ngus-new-pass-12\n`
    const docBefore = await plcDoc(pair, gus.did)
    const stopped = await migrate(pair, gus.did, run, [...args, '--json'], { stdin })
    assert.equal(stopped.code, 4, stopped.stderr)
    assert.match(stopped.stderr, new RegExp(`the blobs step failed: 1 blob the repository uses is gone from the old PDS \\(${lost}\\).*--allow-missing-blobs`))
    assert.deepEqual(await plcDoc(pair, gus.did), docBefore, 'the identity has not moved')
    const results = await finish(pair, gus, run, [...args, '--allow-missing-blobs'], stdin)
    const last = results.at(-1)!
    assert.equal(last.code, 6, last.stderr)
    const report = json<MigrationReport>(last)
    assert.equal(report.status, 'failed')
    assert.deepEqual(report.problems, [{ problem: '1 blob missing on the new PDS (1 gone from the old PDS)', fix: 'none from here: the old PDS lost them (the posts show no image)' }])
    assert.equal(report.steps.find((s) => s.id === 'verify')?.state, 'failed')
    assert.match(last.stderr, /^Error: account migrate: verification found 1 problem: 1 blob missing on the new PDS/m)
    const o = await observe(pair, gus.did, { oldPassword: gus.password, newPassword: 'gus-new-pass-12' })
    assert.equal(o.doc.service[0].serviceEndpoint, publicUrl(pair.new))
    assert.deepEqual(o.missing.blobs.map((b: { cid: string }) => b.cid), [lost])
  })

  test('undo after the identity moved: the printed move-back command brings the account home (the old account is reused)', async () => {
    const hal = await seedMigrant(pair.old, 'hal', { posts: 3, sizes: [3_000] })
    const home = migrationHome()
    const args = ['--password-stdin', '--new-password-stdin', '--yes']
    const forward = await finish(pair, hal, { direction: 'in', home }, args, `${hal.password}\nhal-new-pass-123\n`)
    const moved = json<MigrationReport>(forward.at(-1)!)
    assert.equal(moved.status, 'done', forward.at(-1)!.stderr)
    assert.match(moved.undo ?? '', /move back with `pdsctl account migrate did:plc:\S+ --to http:\/\/127\.0\.0\.1:\d+`/)
    // Back: out of the connected (new) PDS to the old one, where the account still is (its old password).
    const back = await finish(pair, hal, { direction: 'out', home, oldUrl: pair.new.url, newUrl: pair.old.url }, args, `hal-new-pass-123\n${hal.password}\n`)
    const last = json<MigrationReport>(back.at(-1)!)
    assert.equal(last.status, 'done', back.map((r) => r.stderr).join('\n---\n'))
    assert.match(back[0].stderr, /account: done before/)
    const doc = await plcDoc(pair, hal.did)
    assert.equal(doc.service[0].serviceEndpoint, publicUrl(pair.old))
    assert.deepEqual(doc.alsoKnownAs, ['at://hal.old.test'])
    assert.equal((await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did: hal.did } })).body.active, true)
    assert.deepEqual((await xrpc(pair.new.url, 'com.atproto.sync.getRepoStatus', { query: { did: hal.did } })).body, { did: hal.did, active: false, status: 'deactivated' })
  })

  test('bad input is refused before any request (exit 2)', async () => {
    const dead = 'http://127.0.0.1:9'
    const cases: Array<[string[], RegExp]> = [
      [['alice.test'], /--from URL .* or --to URL/],
      [['alice.test', '--from', dead, '--to', dead], /--to|--from/],
      [['not a handle', '--from', dead], /neither a valid handle nor a DID/],
      [['did:key:z6Mk', '--from', dead], /does not host/],
      [['alice.test', '--from', 'http://old.example.com'], /refusing plain http:\/\/ to old\.example\.com/],
      [['alice.test', '--from', dead, '--plc-url', 'http://plc.example.com'], /refusing plain http:\/\/ to plc\.example\.com/],
      [['alice.test', '--from', dead, '--token', 'nope'], /does not look like a confirmation code/],
      [['alice.test', '--from', dead, '--email', 'nope'], /email/],
      [['alice.test', '--from', dead, '--handle', 'no handle'], /not a valid handle/],
      [['alice.test', '--from', 'http://127.0.0.1:9/x'], /just the origin/],
      [['alice.test', '--from', dead, '--password-stdin', '--admin-password-stdin'], /cannot share stdin/],
      [['alice.test', '--from', dead, '--status', '--dry-run'], /--dry-run|--status/],
    ]
    for (const [args, re] of cases) {
      const r = await runCli(['account', 'migrate', ...args], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, re, args.join(' '))
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('Error:')).length, 1)
    }
    const self = await runCli(['account', 'migrate', 'alice.test', '--from', 'http://127.0.0.1:9'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(self.code, 2)
    assert.match(self.stderr, /is the connected PDS itself/)
  })
})

describe('pdsctl account migrate: a new PDS that refuses imports (PDS_ACCEPTING_REPO_IMPORTS=false)', () => {
  let pair: TwoPdses
  before(async () => {
    pair = await startTwoPdses({ newOptions: { acceptingImports: false } })
  })
  after(() => pair.close())

  test('exit 1 naming the setting; the old account is untouched and active, the identity unchanged, the undo printed', async () => {
    const dave = await seedMigrant(pair.old, 'dave', { posts: 2, sizes: [1_000] })
    const home = migrationHome()
    const docBefore = await plcDoc(pair, dave.did)
    const r = await migrate(pair, dave.did, { direction: 'in', home }, ['--password-stdin', '--yes', '--json'], { stdin: dave.password })
    assert.equal(r.code, 1, r.stderr)
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('Error:'))
    assert.equal(lines.length, 1)
    assert.match(lines[0], /the repo step failed: .* refuses repository imports \(InvalidRequest: Service is not accepting repo imports\)\. Its operator must set PDS_ACCEPTING_REPO_IMPORTS=true/)
    assert.match(lines[0], /done: account; the old account on http:\/\/127\.0\.0\.1:\d+ is active; the new one on .* is deactivated; the DID document points at the old PDS/)
    assert.match(lines[0], /Undo: the old account is untouched and active: delete the unused new one with `pdsctl account delete did:plc:/)
    const report = json<MigrationReport>(r)
    assert.equal(report.status, 'failed')
    assert.equal(report.steps.find((s) => s.id === 'repo')?.state, 'failed')
    assert.deepEqual(await plcDoc(pair, dave.did), docBefore)
    assert.equal((await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did: dave.did } })).body.active, true)
    // The printed undo works: the unused new account goes, the old one stays.
    const undo = await runCli(['account', 'delete', dave.did, '--yes'], { env: { PDS_URL: pair.new.url, PDS_ADMIN_PASSWORD: pair.new.adminPassword } })
    assert.equal(undo.code, 0, undo.stderr)
    assert.equal((await xrpc(pair.new.url, 'com.atproto.sync.getRepoStatus', { query: { did: dave.did } })).status, 400)
    assert.equal((await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did: dave.did } })).body.active, true)
  })
})
