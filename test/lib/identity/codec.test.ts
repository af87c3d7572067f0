// pdsctl's DAG-CBOR, CAR and ECDSA code (what identity check verifies every commit with),
// against @atproto/repo and @atproto/crypto, the implementations the PDS itself uses.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { BlockMap, blocksToCarFile, cborToLex, signCommit, verifyCommitSig } from '@atproto/repo'
import { CID } from 'multiformats/cid'
import { DagCborError, decodeDagCbor, encodeDagCbor } from '../../../src/lib/identity/dagCbor.js'
import { CarError, readCar } from '../../../src/lib/identity/car.js'
import { didKeyOfPrivateKey, verifyEcdsa } from '../../../src/lib/identity/ecdsa.js'
import { verifyWithDidKey } from '../../../src/lib/identity/keys.js'

const N_K256 = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const N_P256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

async function commitBlock(key: Secp256k1Keypair | P256Keypair) {
  const data = await new BlockMap().add({ e: [], l: null })
  const commit = await signCommit({ did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', version: 3, data, rev: '3jzfcijpj2z2a', prev: null }, key)
  const blocks = new BlockMap()
  const cid = await blocks.add(commit as never)
  return { commit, cid, bytes: blocks.get(cid)!, car: await blocksToCarFile(null, blocks) }
}

describe('DAG-CBOR decoding', () => {
  test('a real commit decodes as @atproto/repo reads it, and re-encodes to the same bytes', async () => {
    const { bytes, commit } = await commitBlock(await Secp256k1Keypair.create())
    const mine = decodeDagCbor(bytes) as Record<string, unknown>
    const theirs = cborToLex(bytes) as Record<string, unknown>
    assert.equal(mine.did, theirs.did)
    assert.equal(mine.rev, commit.rev)
    assert.ok(mine.data instanceof CID && mine.data.toString() === String(theirs.data))
    assert.equal(mine.prev, null)
    assert.equal(hex(mine.sig as Uint8Array), hex(commit.sig))
    assert.equal(hex(encodeDagCbor(mine)), hex(bytes))
  })

  test('encodes as @atproto/repo does at every length boundary (text, bytes, integers, arrays, maps)', async () => {
    // Text whose UTF-8 length crosses a header size (23/24, 255/256, 65535/65536 bytes) while
    // its UTF-16 length does not, in ASCII, 2-, 3- and 4-byte characters.
    const texts: string[] = []
    for (const ch of ['a', 'é', '€', '😀']) {
      const bytesPer = Buffer.byteLength(ch)
      for (const edge of [23, 24, 255, 256, 65535, 65536]) {
        for (const d of [-1, 0, 1]) {
          const units = Math.max(0, Math.floor((edge + d * bytesPer) / bytesPer))
          texts.push(ch.repeat(units), 'x'.repeat((edge + d) % bytesPer) + ch.repeat(units))
        }
      }
    }
    const ints = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 53 - 1)]
    const value = {
      texts,
      ints,
      bytes: [0, 23, 24, 255, 256, 65536].map((n) => new Uint8Array(n).fill(7)),
      nested: { z: 1, yy: [null, true, false], 'é': 'key of two bytes', b: { a: {} } },
      link: (await commitBlock(await Secp256k1Keypair.create())).cid,
    }
    const blocks = new BlockMap()
    const cid = await blocks.add(value as never)
    assert.equal(hex(encodeDagCbor(value)), hex(blocks.get(cid)!))
    assert.deepEqual(decodeDagCbor(encodeDagCbor(value)), value)
  })

  test('round trips, and what is not canonical DAG-CBOR is refused', () => {
    const v = { a: [1, -1, 255, 65536, -70000, 2 ** 40], b: new Uint8Array([1, 2]), cc: 'é', d: null, e: true, f: false, __proto__x: {} }
    assert.deepEqual(decodeDagCbor(encodeDagCbor(v)), v)
    const bad: Array<[string, number[]]> = [
      ['unordered keys', [0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]],
      ['repeated keys', [0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]],
      ['a float', [0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]],
      ['indefinite length', [0x9f, 0x01, 0xff]],
      ['non-minimal integer', [0x18, 0x01]],
      ['trailing bytes', [0x01, 0x02]],
      ['truncated text', [0x63, 0x61]],
      ['a tag other than 42', [0xc1, 0x01]],
      ['a map key that is not text', [0xa1, 0x01, 0x01]],
      ['invalid UTF-8', [0x61, 0xff]],
      ['a huge array header', [0x9b, 0, 0, 0, 1, 0, 0, 0, 0]],
    ]
    for (const [what, bytes] of bad) assert.throws(() => decodeDagCbor(Uint8Array.from(bytes)), DagCborError, what)
    // A key "__proto__" is data, not a prototype.
    const proto = decodeDagCbor(Uint8Array.from([0xa1, 0x69, ...Buffer.from('__proto__'), 0x01])) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(proto), Object.prototype)
    assert.deepEqual(Object.keys(proto), ['__proto__'])
    // Deep nesting is bounded.
    assert.throws(() => decodeDagCbor(Uint8Array.from([...new Array(100).fill(0x81), 0x01])), /nested too deeply/)
  })
})

describe('CAR', () => {
  test('a CAR from @atproto/repo reads block by block, each checked against its CID; tampering is caught', async () => {
    const { car, cid, bytes } = await commitBlock(await Secp256k1Keypair.create())
    const read = readCar(car)
    assert.deepEqual(read.roots, [])
    assert.equal(read.blocks.length, 1)
    assert.equal(read.blocks[0].cid.toString(), cid.toString())
    assert.equal(hex(read.blocks[0].bytes), hex(bytes))
    const tampered = Uint8Array.from(car)
    tampered[tampered.length - 1] ^= 1
    assert.throws(() => readCar(tampered), (e: Error) => e instanceof CarError && /does not match its CID/.test(e.message))
    assert.throws(() => readCar(car.subarray(0, car.length - 3)), /truncated/)
    assert.throws(() => readCar(Uint8Array.from([0x80])), /truncated length/)
  })
})

describe('ECDSA with OpenSSL', () => {
  for (const [name, make, n] of [['secp256k1', () => Secp256k1Keypair.create({ exportable: true }), N_K256], ['P-256', () => P256Keypair.create({ exportable: true }), N_P256]] as const) {
    test(`${name}: agrees with @atproto/crypto, refuses high-S unless asked, refuses other keys`, async () => {
      const key = await make()
      const other = await make()
      const data = new TextEncoder().encode('what the PDS signed')
      const sig = await key.sign(data)
      assert.equal(verifyEcdsa(key.did(), data, sig), true)
      assert.equal(verifyEcdsa(other.did(), data, sig), false)
      assert.equal(verifyEcdsa(key.did(), new TextEncoder().encode('something else'), sig), false)
      assert.equal(verifyEcdsa(key.did(), data, sig.subarray(0, 63)), false)
      // The same signature with s → n - s: valid ECDSA, but malleable; atproto refuses it.
      const s = BigInt('0x' + hex(sig.subarray(32)))
      const high = Uint8Array.from([...sig.subarray(0, 32), ...Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')])
      assert.equal(verifyEcdsa(key.did(), data, high), false)
      assert.equal(verifyEcdsa(key.did(), data, high, { allowMalleableSig: true }), true)
      assert.equal(await verifyWithDidKey(key.did(), data, high, { allowMalleableSig: true }), true)
      // The public key of the private key is the keypair's.
      assert.equal(didKeyOfPrivateKey(await key.export(), name === 'P-256' ? 'p256' : 'secp256k1'), key.did())
    })
  }

  test('a commit verifies as @atproto/repo verifies it', async () => {
    const key = await Secp256k1Keypair.create()
    const { bytes, commit } = await commitBlock(key)
    const { sig, ...unsigned } = decodeDagCbor(bytes) as Record<string, unknown>
    assert.equal(await verifyCommitSig(commit, key.did()), true)
    assert.equal(await verifyWithDidKey(key.did(), encodeDagCbor(unsigned), sig as Uint8Array), true)
    assert.equal(await verifyWithDidKey((await Secp256k1Keypair.create()).did(), encodeDagCbor(unsigned), sig as Uint8Array), false)
  })

  test('what OpenSSL cannot judge is left to @atproto/crypto (undefined), and keys out of range are null', () => {
    assert.equal(verifyEcdsa('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', new Uint8Array(1), new Uint8Array(64)), undefined)
    assert.equal(verifyEcdsa('did:web:example.com', new Uint8Array(1), new Uint8Array(64)), undefined)
    assert.equal(didKeyOfPrivateKey(new Uint8Array(32), 'secp256k1'), null)
    assert.equal(didKeyOfPrivateKey(Buffer.from(N_K256.toString(16), 'hex'), 'secp256k1'), null)
  })
})

test('DAG-CBOR: long strings and bytes (a lying directory sends 3 MB fields) encode as @atproto/common does (written as whole chunks)', async () => {
  const { cborEncode, cborDecode } = await import('@atproto/common')
  const ipld = { encode: cborEncode, decode: cborDecode }
  const value = { alsoKnownAs: ['at://' + 'h'.repeat(3 * 1024 * 1024)], rotationKeys: ['did:key:z' + 'é'.repeat(70_000), 'k'], sig: new Uint8Array(100_000).fill(7), prev: null, n: 300 }
  assert.deepEqual(Buffer.from(encodeDagCbor(value)), Buffer.from(ipld.encode(value)))
  assert.deepEqual(decodeDagCbor(encodeDagCbor(value)), ipld.decode(ipld.encode(value)))
})
