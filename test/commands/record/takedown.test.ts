// Record takedowns by AT-URI and blob takedowns by DID and CID, against the real PDS.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { SubjectTakedownResult } from '../../../src/lib/admin/moderation.js'

describe('pdsctl record / blob takedown', () => {
  let bed: TestBed
  let fay: SeededAccount
  let postUri: string
  let blobCid: string
  before(async () => {
    bed = await startTestBed()
    ;[fay] = await bed.seed(1, 'fay')
    const s = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: fay.handle, password: fay.password })
    const auth = { authorization: `Bearer ${s.accessJwt}` }
    const post = await fetch(`${bed.url}/xrpc/com.atproto.repo.createRecord`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: fay.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: 'hello', createdAt: new Date().toISOString() } }),
    }).then((r) => r.json() as Promise<{ uri: string }>)
    postUri = post.uri
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
    const blob = await fetch(`${bed.url}/xrpc/com.atproto.repo.uploadBlob`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: png }).then(
      (r) => r.json() as Promise<{ blob: { ref: { $link: string } } }>,
    )
    blobCid = blob.blob.ref.$link
    // A blob is served only once a record refers to it: make it the profile's avatar.
    await fetch(`${bed.url}/xrpc/com.atproto.repo.putRecord`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: fay.did, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', avatar: blob.blob } }),
    }).then((r) => assert.equal(r.status, 200))
  })
  after(() => bed.close())
  const recordStatus = (uri: string) =>
    fetch(`${bed.url}/xrpc/com.atproto.admin.getSubjectStatus?uri=${encodeURIComponent(uri)}`, {
      headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
    }).then((r) => r.json() as Promise<{ takedown?: { applied: boolean } }>)
  const recordVisible = (uri: string) => {
    const [, , did, collection, rkey] = uri.split('/')
    return fetch(`${bed.url}/xrpc/com.atproto.repo.getRecord?repo=${did}&collection=${collection}&rkey=${rkey}`).then((r) => r.status === 200)
  }

  test('a record by AT-URI (with a handle in it): taken down, no longer served, then restored', async () => {
    assert.equal(await recordVisible(postUri), true)
    const byHandle = postUri.replace(fay.did, fay.handle)
    const res = await runCli(['record', 'takedown', byHandle, '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const out = JSON.parse(res.stdout) as SubjectTakedownResult
    assert.equal((out.subject as { uri: string }).uri, postUri)
    assert.equal(out.takendown, true)
    assert.equal((await recordStatus(postUri)).takedown?.applied, true)
    assert.equal(await recordVisible(postUri), false)
    const undo = await runCli(['record', 'untakedown', postUri, '--yes'], { env: bedEnv(bed) })
    assert.equal(undo.code, 0, undo.stderr)
    assert.equal(await recordVisible(postUri), true)
  })

  test('a blob by DID and CID: taken down, no longer served', async () => {
    const getBlob = () => fetch(`${bed.url}/xrpc/com.atproto.sync.getBlob?did=${fay.did}&cid=${blobCid}`).then((r) => r.status)
    assert.equal(await getBlob(), 200)
    const res = await runCli(['blob', 'takedown', fay.handle, blobCid, '--yes', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual((JSON.parse(res.stdout) as SubjectTakedownResult).subject, { did: fay.did, cid: blobCid })
    assert.notEqual(await getBlob(), 200)
    assert.equal((await runCli(['blob', 'untakedown', fay.did, blobCid, '--yes'], { env: bedEnv(bed) })).code, 0)
    assert.equal(await getBlob(), 200)
  })

  test('unattended without --yes, malformed AT-URIs and CIDs: exit 2, nothing sent', async () => {
    const env = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }
    for (const args of [['record', 'takedown', postUri], ['record', 'takedown', 'at://nope', '--yes'], ['record', 'takedown', 'https://example.com/x', '--yes'], ['blob', 'takedown', fay.did, 'notacid', '--yes'], ['blob', 'takedown', 'bad!', blobCid, '--yes']]) {
      const res = await runCli(args, { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    }
  })
})
