// Exit codes and flags as the README's table says (issue 8, item 13), against the real PDS:
// unknown invite codes and blobs are "not found" (4), not "done"; bad CIDs and DIDs a PDS
// cannot host are bad input (2) before any request; a declined prompt is 2 (cancelled),
// never 1; `-` with --admin-password-stdin is refused up front; `account invites` take --yes.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../bed/pds.js'
import { startRecorder, type Recorder } from '../helpers/recorder.js'
import { bedEnv, runCli } from '../helpers/cli.js'
import { runPty } from '../helpers/pty.js'

describe('exit codes of item 13', () => {
  let bed: TestBed
  let nobody: Recorder
  let gil: SeededAccount
  let hal: SeededAccount
  let blobCid: string
  const basic = () => ({ authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') })
  const codes = async () =>
    ((await fetch(`${bed.url}/xrpc/com.atproto.admin.getInviteCodes?limit=500`, { headers: basic() }).then((r) => r.json())) as { codes: Array<{ code: string; disabled: boolean }> }).codes
  const accountInfo = (did: string) => fetch(`${bed.url}/xrpc/com.atproto.admin.getAccountInfo?did=${did}`, { headers: basic() }).then((r) => r.json() as Promise<{ invitesDisabled?: boolean }>)
  before(async () => {
    bed = await startTestBed()
    nobody = await startRecorder()
    ;[gil, hal] = await bed.seed(2, 'exit')
    const s = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: gil.did, password: gil.password })
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex')
    const up = (await fetch(`${bed.url}/xrpc/com.atproto.repo.uploadBlob`, { method: 'POST', headers: { authorization: `Bearer ${s.accessJwt}`, 'content-type': 'image/png' }, body: png }).then((r) => r.json())) as {
      blob: { ref: { $link: string } }
    }
    blobCid = up.blob.ref.$link
    await fetch(`${bed.url}/xrpc/com.atproto.repo.putRecord`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.accessJwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: gil.did, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', avatar: up.blob } }),
    }).then((r) => assert.equal(r.status, 200))
  })
  after(async () => {
    await nobody.close()
    await bed.close()
  })

  test('invite disable of a code the PDS does not have: exit 4 naming it, nothing disabled, no "Disabled" claim', async () => {
    const real = (await xrpc(bed.url, 'com.atproto.server.createInviteCode', { useCount: 1 }, bed.adminPassword)).code as string
    const unknown = await runCli(['invite', 'disable', 'NOT-A-CODE', '--yes'], { env: bedEnv(bed) })
    assert.equal(unknown.code, 4, unknown.stderr)
    assert.match(unknown.stderr, /^Error: no invite code NOT-A-CODE on this PDS/)
    assert.doesNotMatch(unknown.stderr + unknown.stdout, /Disabled/)
    // A mix: the unknown one is named, and the real one is left alone (all or nothing).
    const mixed = await runCli(['invite', 'disable', real, 'ALSO-NOT-A-CODE', '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(mixed.code, 4, mixed.stderr)
    assert.match(mixed.stderr, /ALSO-NOT-A-CODE/)
    assert.doesNotMatch(mixed.stderr, new RegExp(`no invite code[^.]*${real}`))
    assert.equal(JSON.parse(mixed.stdout).error.exitCode, 4)
    assert.equal((await codes()).find((c) => c.code === real)?.disabled, false)
    // The real one alone: disabled, and the PDS agrees.
    const ok = await runCli(['invite', 'disable', real, '--yes'], { env: bedEnv(bed) })
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stderr, /Disabled 1 invite code/)
    assert.equal((await codes()).find((c) => c.code === real)?.disabled, true)
  })

  test('blob takedown of a blob the PDS does not have: exit 4 like record takedown; the real blob still works', async () => {
    const other = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
    for (const verb of ['takedown', 'untakedown']) {
      const res = await runCli(['blob', verb, gil.did, other, '--yes'], { env: bedEnv(bed) })
      assert.equal(res.code, 4, `${verb}: ${res.stderr}`)
      assert.match(res.stderr, new RegExp(`^Error: no blob ${other} in the repo of ${gil.did}`))
    }
    // gil's blob exists, but not in hal's repo.
    const wrongRepo = await runCli(['blob', 'takedown', hal.did, blobCid, '--yes'], { env: bedEnv(bed) })
    assert.equal(wrongRepo.code, 4, wrongRepo.stderr)
    const dry = await runCli(['blob', 'takedown', gil.did, blobCid, '--dry-run', '--json'], { env: bedEnv(bed) })
    assert.equal(dry.code, 0, dry.stderr)
    assert.deepEqual(JSON.parse(dry.stdout).subject, { did: gil.did, cid: blobCid })
  })

  test('bad CIDs and DIDs a PDS cannot host: exit 2 before any request', async () => {
    const env = { PDS_URL: nobody.url, PDS_ADMIN_PASSWORD: 'x' }
    // Passes a "b + 50 base32 characters" look-alike check, but is no CID (wrong multihash length).
    const lookalike = 'b' + 'a'.repeat(58)
    const cases: string[][] = [
      ['blob', 'takedown', 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', lookalike, '--yes'],
      ['blob', 'takedown', 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', 'QmNotReallyACidButLooksLikeOneAtFirstGlance12', '--yes'],
      ['account', 'info', 'did:foo:bar'],
      ['account', 'takedown', 'did:foo:bar', '--yes'],
      ['email', 'status', 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme'],
      ['blob', 'takedown', 'did:foo:bar', blobCid, '--yes'],
      ['record', 'takedown', 'at://did:foo:bar/app.bsky.feed.post/3k2abc', '--yes'],
    ]
    for (const args of cases) {
      const res = await runCli(args, { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr)
    }
    assert.equal(nobody.requests.length, 0, 'no request may be sent for bad input')
  })

  test('account verbs with - and --admin-password-stdin: refused up front (exit 2), nothing read or sent', async () => {
    const before = nobody.requests.length
    for (const verb of [['takedown', '--yes'], ['delete', '--yes'], ['invites', 'disable']]) {
      const [first, ...rest] = verb
      const res = await runCli(['account', first, ...(first === 'invites' ? [rest.shift()!] : []), '-', ...rest, '--admin-password-stdin'], {
        env: { PDS_URL: nobody.url },
        stdin: `${gil.did}\n${hal.did}\n`,
      })
      assert.equal(res.code, 2, `${verb.join(' ')}: ${res.stderr}`)
      assert.match(res.stderr, /^Error: --admin-password-stdin cannot be used with - /)
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr)
    }
    assert.equal(nobody.requests.length, before)
  })

  test('account invites enable|disable accept --yes (like every account verb) and do what they say', async () => {
    const off = await runCli(['account', 'invites', 'disable', hal.did, '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(off.code, 0, off.stderr)
    assert.equal((await accountInfo(hal.did)).invitesDisabled, true)
    const on = await runCli(['account', 'invites', 'enable', hal.handle, '-y'], { env: bedEnv(bed) })
    assert.equal(on.code, 0, on.stderr)
    assert.equal((await accountInfo(hal.did)).invitesDisabled, false)
  })

  test('declining a confirmation on a terminal: exit 2 "cancelled", nothing changed', async () => {
    const code = (await xrpc(bed.url, 'com.atproto.server.createInviteCode', { useCount: 1 }, bed.adminPassword)).code as string
    for (const args of [['account', 'takedown', hal.did], ['invite', 'disable', code], ['blob', 'takedown', gil.did, blobCid]]) {
      const t = runPty(args, bedEnv(bed))
      await t.waitFor(/\? .*\(y\/N\)/)
      t.write('n\r')
      const exit = await t.exited
      assert.equal(exit, 2, `${args.join(' ')}:\n${t.screen}`)
      assert.match(t.screen, /Error: cancelled: nothing was changed/)
    }
    const status = (await fetch(`${bed.url}/xrpc/com.atproto.admin.getSubjectStatus?did=${hal.did}`, { headers: basic() }).then((r) => r.json())) as { takedown?: { applied: boolean } }
    assert.notEqual(status.takedown?.applied, true)
    assert.equal((await codes()).find((c) => c.code === code)?.disabled, false)
  })
})
