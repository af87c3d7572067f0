// PLC operations built, encoded, signed and read by pdsctl's own code, checked against
// independent implementations: @atproto/repo's DAG-CBOR (cidForRecord) and @did-plc/lib
// (what the test bed's PLC directory validates with).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Secp256k1Keypair, P256Keypair } from '@atproto/crypto'
import { cidForRecord } from '@atproto/repo'
import * as plcLib from '@did-plc/lib'
import {
  buildUpdate,
  currentEntry,
  dataOf,
  describeChanges,
  didForGenesis,
  encodeDagCbor,
  explainLog,
  operationCid,
  parseAuditLog,
  parseOperation,
  signOperation,
  signerOf,
  type AuditEntry,
  type PlcData,
  type UnsignedPlcOperation,
} from '../../../src/lib/identity/plcOperation.js'
import { checkKeyCount, withRotationKeys } from '../../../src/lib/identity/rotationKeys.js'
import { rewriteHandle } from '../../../src/lib/identity/moveHost.js'
import { BadResponseError, UsageError } from '../../../src/lib/errors.js'

async function genesis(rotation: Secp256k1Keypair, signing: string, extra: Partial<PlcData> = {}) {
  const unsigned: UnsignedPlcOperation = {
    type: 'plc_operation',
    rotationKeys: [rotation.did()],
    verificationMethods: { atproto: signing },
    alsoKnownAs: ['at://alice.test'],
    services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://pds.example.com' } },
    prev: null,
    ...extra,
  }
  const op = await signOperation(unsigned, rotation)
  return { op, did: await didForGenesis(op), cid: await operationCid(op) }
}

describe('DAG-CBOR and CIDs', () => {
  test('the encoding is the canonical one: same CID as @atproto/repo for operations and odd values', async () => {
    const key = await Secp256k1Keypair.create()
    const { op } = await genesis(key, key.did())
    for (const value of [op, { b: 1, aa: [null, true, false, 'é✓'], a: { z: 23, y: 24, x: 255, w: 256, v: 65535, u: 65536, t: 2 ** 32, s: -1, r: -25 } }, { '': '', longer: 'x'.repeat(300) }]) {
      assert.equal(await operationCid(value as never), (await cidForRecord(value as never)).toString(), JSON.stringify(value).slice(0, 80))
    }
  })

  test('keys sort by encoded length first, then bytewise', () => {
    assert.deepEqual([...encodeDagCbor({ bb: 1, a: 2, c: 3 })], [0xa3, 0x61, 0x61, 0x02, 0x61, 0x63, 0x03, 0x62, 0x62, 0x62, 0x01])
  })

  test('values DAG-CBOR cannot carry here are refused, not mangled', () => {
    assert.throws(() => encodeDagCbor({ x: 1.5 }), TypeError)
    assert.throws(() => encodeDagCbor({ x: new Date() }), TypeError)
  })
})

describe('signing and signers', () => {
  test('an operation pdsctl signs is valid for @did-plc/lib, and @did-plc/lib names the same DID and CID', async () => {
    const rotation = await Secp256k1Keypair.create()
    const { op, did, cid } = await genesis(rotation, (await Secp256k1Keypair.create()).did())
    assert.equal(await plcLib.assureValidSig([rotation.did()], op as never), rotation.did())
    const theirs = await plcLib.didForCreateOp(op as never)
    assert.equal(did, theirs)
    // An update after it, signed by pdsctl, passes @did-plc/lib's full validation of the next operation.
    const update = await signOperation(buildUpdate(cid, { ...(dataOf(op) as PlcData), alsoKnownAs: ['at://bob.test'] }), rotation)
    const ops = [{ did, operation: op, cid: (await import('multiformats/cid')).CID.parse(cid), nullified: false, createdAt: new Date() }]
    await plcLib.assureValidNextOp(did, ops as never, update as never)
  })

  test('signerOf names the key that signed, in priority order, and none for a stranger (P-256 too)', async () => {
    const a = await Secp256k1Keypair.create()
    const b = await P256Keypair.create()
    const c = await Secp256k1Keypair.create()
    const { op } = await genesis(a, a.did())
    const byB = await signOperation({ ...(op as UnsignedPlcOperation & { sig?: string }), sig: undefined } as never, b)
    assert.equal(await signerOf(op, [b.did(), a.did()]), a.did())
    assert.equal(await signerOf(byB, [a.did(), b.did()]), b.did())
    assert.equal(await signerOf(op, [c.did(), b.did()]), undefined)
    assert.equal(await signerOf({ ...op, sig: '!!not base64url' }, [a.did()]), undefined)
  })

  test('a signature by a higher-priority key is found first: keys are tried in the order given', async () => {
    const a = await Secp256k1Keypair.create()
    const { op } = await genesis(a, a.did())
    assert.equal(await signerOf(op, [a.did(), a.did()]), a.did())
  })
})

describe('reading a log', () => {
  test('explainLog: what each operation changed, which key signed it, and a forged entry stands out', async () => {
    const pds = await Secp256k1Keypair.create()
    const user = await Secp256k1Keypair.create()
    const stranger = await Secp256k1Keypair.create()
    const g = await genesis(pds, pds.did())
    const d0 = dataOf(g.op) as PlcData
    const op1 = await signOperation(buildUpdate(g.cid, { ...d0, rotationKeys: [user.did(), pds.did()], alsoKnownAs: ['at://alice2.test'] }), pds)
    const cid1 = await operationCid(op1)
    const op2 = await signOperation(buildUpdate(cid1, { ...d0, rotationKeys: [user.did(), pds.did()], services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://elsewhere.example' } } }), user)
    const forged = await signOperation(buildUpdate(await operationCid(op2), { ...d0, verificationMethods: { atproto: stranger.did() } }), stranger)
    const log: AuditEntry[] = [
      { did: g.did, operation: g.op, cid: g.cid, nullified: false, createdAt: '2026-01-01T00:00:00.000Z' },
      { did: g.did, operation: op1, cid: cid1, nullified: false, createdAt: '2026-01-02T00:00:00.000Z' },
      { did: g.did, operation: op2, cid: await operationCid(op2), nullified: true, createdAt: '2026-01-03T00:00:00.000Z' },
      { did: g.did, operation: forged, cid: 'bafyreib2rxk3rh6kzwq3foo', nullified: false, createdAt: '2026-01-04T00:00:00.000Z' },
    ]
    const views = await explainLog(g.did, log)
    assert.deepEqual(views.map((v) => v.signedBy), [pds.did(), pds.did(), user.did(), null])
    assert.deepEqual(views.map((v) => v.consistent), [true, true, true, false])
    assert.deepEqual(views[0].changes, [{ field: 'created', to: 'alice.test on https://pds.example.com' }])
    assert.deepEqual(views[1].changes.map((c) => c.field), ['handle', 'rotationKeys'])
    assert.deepEqual(views[2].changes, [
      { field: 'handle', from: 'alice2.test', to: 'alice.test' },
      { field: 'endpoint', from: 'https://pds.example.com', to: 'https://elsewhere.example' },
    ])
    assert.equal(views[2].nullified, true)
    // The current state skips nullified entries.
    assert.equal(currentEntry(log.slice(0, 3))?.cid, cid1)
    // A genesis that does not hash to the DID is not consistent either.
    const other = await explainLog('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', log.slice(0, 1))
    assert.equal(other[0].consistent, false)
  })

  test('parseAuditLog refuses what is not a log of this DID', () => {
    const did = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'
    assert.throws(() => parseAuditLog(did, { not: 'a list' }), BadResponseError)
    assert.throws(() => parseAuditLog(did, [{ did: 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb', cid: 'x', createdAt: '2026-01-01T00:00:00Z', operation: {} }]), /for did:plc:bbbb/)
    assert.throws(() => parseAuditLog(did, [{ did, cid: 'x', createdAt: 'yesterday', operation: {} }]), /without a date/)
    assert.throws(() => parseOperation({ type: 'plc_operation', sig: 'x', prev: null, rotationKeys: 'k', verificationMethods: {}, alsoKnownAs: [], services: {} }), /rotation keys/)
    assert.throws(() => parseOperation({ type: 'plc_operation', sig: 'x', prev: null, rotationKeys: [], verificationMethods: {}, alsoKnownAs: [], services: { atproto_pds: { type: 1 } } }), /malformed service/)
    assert.throws(() => parseOperation({ type: 'something', sig: 'x' }), /unknown type/)
  })

  test('a legacy create operation reads as the directory normalises it', () => {
    const op = parseOperation({ type: 'create', signingKey: 'did:key:zS', recoveryKey: 'did:key:zR', handle: 'alice.bsky.social', service: 'https://bsky.social', prev: null, sig: 'x' })
    assert.deepEqual(dataOf(op), {
      rotationKeys: ['did:key:zR', 'did:key:zS'],
      verificationMethods: { atproto: 'did:key:zS' },
      alsoKnownAs: ['at://alice.bsky.social'],
      services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://bsky.social' } },
    })
    assert.equal(dataOf({ type: 'plc_tombstone', prev: 'x', sig: 'y' }), null)
  })

  test('describeChanges: a tombstone, nothing, other services', () => {
    const d: PlcData = { rotationKeys: ['k'], verificationMethods: { atproto: 's' }, alsoKnownAs: ['at://a.test'], services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://x' } } }
    assert.deepEqual(describeChanges(d, null), [{ field: 'tombstone' }])
    assert.deepEqual(describeChanges(d, d), [{ field: 'none' }])
    assert.deepEqual(describeChanges(d, { ...d, services: { ...d.services, other: { type: 'T', endpoint: 'https://y' } } }).map((c) => c.field), ['services'])
  })
})

describe('rotation keys and handles', () => {
  test('withRotationKeys: appended by default, first with --first, never twice', () => {
    assert.deepEqual(withRotationKeys(['a', 'b'], ['c'], false), ['a', 'b', 'c'])
    assert.deepEqual(withRotationKeys(['a', 'b'], ['c'], true), ['c', 'a', 'b'])
    assert.deepEqual(withRotationKeys(['a', 'b'], ['b'], true), ['b', 'a'])
    assert.deepEqual(withRotationKeys(['a', 'b'], ['b'], false), ['a', 'b'])
    assert.throws(() => checkKeyCount(['a', 'b', 'c', 'd', 'e', 'f']), UsageError)
    assert.throws(() => checkKeyCount(['a', 'a']), UsageError)
  })

  test('rewriteHandle: only handles under the old host, the name kept', () => {
    assert.equal(rewriteHandle('alice.old.example', 'old.example', 'new.example'), 'alice.new.example')
    assert.equal(rewriteHandle('a.b.old.example', 'old.example', 'pds.new.example'), 'a.b.pds.new.example')
    assert.equal(rewriteHandle('alice.example.com', 'old.example', 'new.example'), undefined)
    assert.equal(rewriteHandle('old.example', 'old.example', 'new.example'), undefined)
    assert.equal(rewriteHandle('alice.notold.example', 'old.example', 'new.example'), undefined)
  })
})
