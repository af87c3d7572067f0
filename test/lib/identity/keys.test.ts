import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Secp256k1Keypair, P256Keypair } from '@atproto/crypto'
import { base58btc } from 'multiformats/bases/base58'
import { generateKey, parseDidKey, parsePrivateKeyHex, publicDidKeyOfHex } from '../../../src/lib/identity/keys.js'
import { UsageError } from '../../../src/lib/errors.js'

describe('keys', () => {
  test('did:keys of both curves parse; others are usage errors that say why', async () => {
    const k = (await Secp256k1Keypair.create()).did()
    const p = (await P256Keypair.create()).did()
    assert.deepEqual(await parseDidKey(k), { didKey: k, type: 'secp256k1' })
    assert.deepEqual(await parseDidKey(` ${p} `), { didKey: p, type: 'p256' })
    await assert.rejects(parseDidKey('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', '--key'), (e: Error) => e instanceof UsageError && /Ed25519/.test((e as UsageError).line))
    await assert.rejects(parseDidKey('ab'.repeat(32), '--key'), (e: Error) => e instanceof UsageError && /looks like a private key/.test((e as UsageError).line))
    await assert.rejects(parseDidKey('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', '--key'), UsageError)
    await assert.rejects(parseDidKey('did:key:zQ3sh0OIl', '--key'), UsageError)
    // A secp256k1 did:key whose x coordinate is past the field's prime: no point on the curve.
    const offCurve = `did:key:${base58btc.encode(Uint8Array.of(0xe7, 0x01, 0x02, ...new Array(32).fill(0xff)))}`
    await assert.rejects(parseDidKey(offCurve, '--key'), UsageError)
  })

  test('the public did:key of a private key hex is the keypair\'s; a malformed key never appears in the message', async () => {
    const pair = await Secp256k1Keypair.create({ exportable: true })
    const hex = Buffer.from(await pair.export()).toString('hex')
    assert.equal(await publicDidKeyOfHex(hex, 'the key'), pair.did())
    const secretish = 'zz' + hex.slice(2)
    assert.throws(() => parsePrivateKeyHex(secretish, 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX'), (e: Error) => e instanceof UsageError && !(e as UsageError).line.includes(secretish.slice(4)))
    await assert.rejects(publicDidKeyOfHex('00'.repeat(32), 'the key'), UsageError)
  })

  test('generated keys round-trip, both curves', async () => {
    for (const type of ['secp256k1', 'p256'] as const) {
      const g = await generateKey(type)
      assert.match(g.privateKeyHex, /^[0-9a-f]{64}$/)
      assert.equal(await publicDidKeyOfHex(g.privateKeyHex, 'k', type), g.didKey)
      assert.equal((await parseDidKey(g.didKey)).type, type)
    }
  })
})
