// The small CAR reader backup uses for each CAR's root commit: the same answer as
// @atproto/repo on CARs a real PDS serves (a full repository and a diff), and a refusal of
// what is not one (a cut file, a root block whose bytes do not match its CID, garbage).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { readCarCommit } from '../../../src/lib/backup/carCommit.js'
import { login, xrpc } from '../../commands/account/migrateSupport.js'

describe('readCarCommit', () => {
  let bed: TestBed
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-car-'))
  before(async () => {
    bed = await startTestBed()
  })
  after(() => bed.close())

  test('agrees with @atproto/repo on a full CAR and a diff from a real PDS; refuses a cut or tampered CAR', async () => {
    const a = await bed.createAccount('carry.test')
    const jwt = await login(bed.url, a.did, a.password)
    const post = (text: string) => xrpc(bed.url, 'com.atproto.repo.createRecord', { bearer: jwt, body: { repo: a.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() } } })
    for (let i = 0; i < 30; i++) await post(`post ${i}`)
    const full = (await xrpc(bed.url, 'com.atproto.sync.getRepo', { query: { did: a.did } })).body as Buffer
    const { readCarWithRoot, readCar } = await import('@atproto/repo')
    const fullFile = path.join(dir, 'full.car')
    writeFileSync(fullFile, full)
    const mine = await readCarCommit(fullFile)
    const theirs = await readCarWithRoot(new Uint8Array(full))
    const { cborDecode } = await import('@atproto/common')
    const commit = cborDecode(theirs.blocks.get(theirs.root)!) as { did: string; rev: string }
    assert.deepEqual(mine, { root: theirs.root.toString(), commit: { did: commit.did, rev: commit.rev } })
    assert.equal(mine.commit.did, a.did)

    const since = mine.commit.rev
    await post('after')
    const diff = (await xrpc(bed.url, 'com.atproto.sync.getRepo', { query: { did: a.did, since } })).body as Buffer
    const diffFile = path.join(dir, 'diff.car')
    writeFileSync(diffFile, diff)
    const d = await readCarCommit(diffFile)
    const latest = (await xrpc(bed.url, 'com.atproto.sync.getLatestCommit', { query: { did: a.did } })).body
    assert.deepEqual(d, { root: latest.cid, commit: { did: a.did, rev: latest.rev } })
    assert.ok((await readCar(new Uint8Array(diff))).roots[0].equals(theirs.root) === false)

    const cut = path.join(dir, 'cut.car')
    writeFileSync(cut, full.subarray(0, 60))
    await assert.rejects(readCarCommit(cut), /ends early|missing/)
    // The root block's bytes changed (one byte of the commit's rev): refused, never read as the commit.
    const tampered = Buffer.from(full)
    const at = tampered.indexOf(Buffer.from(mine.commit.rev))
    tampered[at] = tampered[at] === 0x33 ? 0x34 : 0x33
    const bad = path.join(dir, 'bad.car')
    writeFileSync(bad, tampered)
    await assert.rejects(readCarCommit(bad), /does not match its CID/)
    const junk = path.join(dir, 'junk.car')
    writeFileSync(junk, Buffer.from('<html>not a car</html>'))
    await assert.rejects(readCarCommit(junk))
  })
})
