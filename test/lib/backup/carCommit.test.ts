// The small CAR reader backup uses for each CAR's root commit: the same answer as
// @atproto/repo on CARs a real PDS serves (a full repository and a diff), and a refusal of
// what is not one (a cut file, a root block whose bytes do not match its CID, garbage); and,
// on CARs made here, what a hostile server could send: a root block that is not a commit, a
// block length the file does not hold, a link in place of the file.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
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

  /** A CAR v1 of `blocks` rooted at `root` (each block: its CID's bytes, then its data). */
  const car = async (root: Uint8Array, blocks: Array<{ cid: Uint8Array; data: Uint8Array }>): Promise<Buffer> => {
    const { cborEncode } = await import('@atproto/common')
    const { CID } = await import('multiformats/cid')
    const varint = (n: number) => {
      const out: number[] = []
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80)
      out.push(n)
      return Buffer.from(out)
    }
    const header = Buffer.from(cborEncode({ version: 1, roots: [CID.decode(root)] }))
    const parts = [varint(header.length), header]
    for (const b of blocks) parts.push(varint(b.cid.length + b.data.length), Buffer.from(b.cid), Buffer.from(b.data))
    return Buffer.concat(parts)
  }

  test('made CARs: a commit after a large block is found; a root that is not a commit, a length past the end and a link are refused', async () => {
    const { dataToCborBlock } = await import('@atproto/common')
    const { CID } = await import('multiformats/cid')
    const data = await dataToCborBlock({ leaf: 1 })
    const did = 'did:plc:abcdefghijklmnopqrstuvwx'
    const commit = await dataToCborBlock({ did, version: 3, data: data.cid, rev: '3laaaaaaaaa22', prev: null, sig: new Uint8Array(64) })
    // A 3 MB block before the root: passed over unread, the commit still found and checked.
    const big = await dataToCborBlock({ blob: new Uint8Array(3 << 20) })
    const ok = path.join(dir, 'made-ok.car')
    writeFileSync(ok, await car(commit.cid.bytes, [{ cid: big.cid.bytes, data: big.bytes }, { cid: commit.cid.bytes, data: commit.bytes }]))
    assert.deepEqual(await readCarCommit(ok), { root: commit.cid.toString(), commit: { did, rev: '3laaaaaaaaa22' } })

    // Its hash matches, but it is no commit (@atproto/repo's def.commit: version 3, data a CID, sig bytes).
    for (const [name, obj] of [
      ['no-sig', { did, version: 3, data: data.cid, rev: '3laaaaaaaaa22', prev: null }],
      ['version-2', { did, version: 2, data: data.cid, rev: '3laaaaaaaaa22', prev: null, sig: new Uint8Array(64) }],
      ['data-not-cid', { did, version: 3, data: { cid: data.cid.bytes }, rev: '3laaaaaaaaa22', prev: null, sig: new Uint8Array(64) }],
      ['did-number', { did: 7, version: 3, data: data.cid, rev: '3laaaaaaaaa22', prev: null, sig: new Uint8Array(64) }],
    ] as const) {
      const b = await dataToCborBlock(obj)
      const f = path.join(dir, `made-${name}.car`)
      writeFileSync(f, await car(b.cid.bytes, [{ cid: b.cid.bytes, data: b.bytes }]))
      await assert.rejects(readCarCommit(f), /not a commit/, name)
    }

    // A block that says it is 1 TB long in a file of a few bytes: refused before anything is allocated.
    const liar = Buffer.concat([(await car(commit.cid.bytes, [])), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x20])])
    const liarFile = path.join(dir, 'made-liar.car')
    writeFileSync(liarFile, liar)
    await assert.rejects(readCarCommit(liarFile), /ends early/)

    // A root block far larger than a commit can be (its hash right): refused, not decoded.
    const huge = await dataToCborBlock({ did, version: 3, data: data.cid, rev: '3laaaaaaaaa22', prev: null, sig: new Uint8Array(200_000) })
    const hugeFile = path.join(dir, 'made-huge.car')
    writeFileSync(hugeFile, await car(huge.cid.bytes, [{ cid: huge.cid.bytes, data: huge.bytes }]))
    await assert.rejects(readCarCommit(hugeFile), /too large/)

    // A CID-less root (not sha256): refused.
    const { identity } = await import('multiformats/hashes/identity')
    const idCid = CID.createV1(0x71, identity.digest(commit.bytes))
    const idFile = path.join(dir, 'made-identity.car')
    writeFileSync(idFile, await car(idCid.bytes, [{ cid: idCid.bytes, data: commit.bytes }]))
    await assert.rejects(readCarCommit(idFile), /sha256/)

    // A link to a good CAR is not followed.
    const link = path.join(dir, 'made-link.car')
    symlinkSync(ok, link)
    await assert.rejects(readCarCommit(link), (err: NodeJS.ErrnoException) => err.code === 'ELOOP')
  })
})
