// The pieces of backup verify and the client that need no PDS: reading the signing key out
// of both DID-document forms PLC has served, and Retry-After in both of its forms.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { signingKeyOf } from '../../../src/lib/backup/verify.js'
import { parseRetryAfter } from '../../../src/lib/pds/xrpcClient.js'

test('signingKeyOf reads a Multikey #atproto key', async () => {
  const key = await Secp256k1Keypair.create()
  const doc = { verificationMethod: [{ id: 'did:plc:abc#atproto', type: 'Multikey', publicKeyMultibase: key.did().slice('did:key:'.length) }] }
  assert.equal(await signingKeyOf(doc), key.did())
})

test('signingKeyOf reads the older EcdsaSecp256k1VerificationKey2019 / P-256 forms (raw key bytes)', async () => {
  const { bytesToMultibase } = await import('@atproto/crypto')
  const k1 = await Secp256k1Keypair.create()
  const p256 = await P256Keypair.create()
  const docK1 = { verificationMethod: [{ id: '#atproto', type: 'EcdsaSecp256k1VerificationKey2019', publicKeyMultibase: bytesToMultibase(k1.publicKeyBytes(), 'base58btc') }] }
  const docP = { verificationMethod: [{ id: '#atproto', type: 'EcdsaSecp256r1VerificationKey2019', publicKeyMultibase: bytesToMultibase(p256.publicKeyBytes(), 'base58btc') }] }
  assert.equal(await signingKeyOf(docK1), k1.did())
  assert.equal(await signingKeyOf(docP), p256.did())
})

test('signingKeyOf: a document without #atproto is an error, not a pass', async () => {
  await assert.rejects(signingKeyOf({ verificationMethod: [{ id: '#other', type: 'Multikey', publicKeyMultibase: 'zQ3s' }] }), /no #atproto signing key/)
  await assert.rejects(signingKeyOf({}), /no #atproto signing key/)
})

test('parseRetryAfter: seconds, an HTTP date, nothing', () => {
  assert.equal(parseRetryAfter('7'), 7000)
  assert.equal(parseRetryAfter(['2']), 2000)
  const ms = parseRetryAfter(new Date(Date.now() + 5000).toUTCString())!
  assert.ok(ms > 3000 && ms <= 5000, String(ms))
  assert.equal(parseRetryAfter(new Date(Date.now() - 5000).toUTCString()), 0)
  assert.equal(parseRetryAfter(undefined), undefined)
  assert.equal(parseRetryAfter('soon'), undefined)
})
