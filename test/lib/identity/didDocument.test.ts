import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { base58btc } from 'multiformats/bases/base58'
import { didDocumentUrl, parseDidDocument, resolveDidDocument } from '../../../src/lib/identity/didDocument.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'
import { BadResponseError, NotFoundError, UsageError } from '../../../src/lib/errors.js'
import { startTestBed, type SeededAccount, type TestBed } from '../../bed/pds.js'

describe('DID documents from the real PLC directory', () => {
  let bed: TestBed
  let plc: PdsClient
  let alice: SeededAccount
  before(async () => {
    bed = await startTestBed({ email: false })
    alice = await bed.createAccount('alice.test')
    plc = new PdsClient({ target: directTarget(bed.plcUrl), role: 'the PLC directory' })
  })
  after(async () => {
    await plc.close()
    await bed.close()
  })

  test('an account made by the PDS: its handle, its PDS and its signing key', async () => {
    const doc = await resolveDidDocument(plc, alice.did)
    assert.equal(doc.did, alice.did)
    assert.deepEqual(doc.handles, ['alice.test'])
    assert.equal(doc.handle, 'alice.test')
    assert.equal(new URL(doc.pdsEndpoint!).port, String(bed.port))
    assert.match(doc.signingKey!, /^did:key:zQ3s[1-9A-HJ-NP-Za-km-z]{40,50}$/, 'a compressed secp256k1 did:key')
  })

  test('a DID the directory does not know is not found (exit 4), and nothing else', async () => {
    await assert.rejects(resolveDidDocument(plc, 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'), NotFoundError)
  })

  test('the signing key is the one the directory holds for the account (its older key type, uncompressed, read right)', async () => {
    const data = (await plc.call({ method: 'GET', path: `/${alice.did}/data` })).body as { verificationMethods: { atproto: string } }
    assert.equal((await resolveDidDocument(plc, alice.did)).signingKey, data.verificationMethods.atproto)
  })

  test('the document must describe the DID asked for; each key type gives the same did:key', async () => {
    const raw = (await plc.call({ method: 'GET', path: `/${alice.did}` })).body as Record<string, unknown>
    assert.throws(() => parseDidDocument('did:plc:bbbbbbbbbbbbbbbbbbbbbbbb', raw), BadResponseError)
    assert.throws(() => parseDidDocument(alice.did, 'text'), BadResponseError)
    const key = parseDidDocument(alice.did, raw).signingKey!
    const prefixed = key.slice('did:key:'.length)
    const bare = base58btc.encode(base58btc.decode(prefixed).slice(2))
    const withKey = (type: string, publicKeyMultibase: string) => ({ ...raw, verificationMethod: [{ id: `${alice.did}#atproto`, type, controller: alice.did, publicKeyMultibase }] })
    assert.equal(parseDidDocument(alice.did, withKey('Multikey', prefixed)).signingKey, key)
    assert.equal(parseDidDocument(alice.did, withKey('EcdsaSecp256k1VerificationKey2019', bare)).signingKey, key)
    assert.equal(parseDidDocument(alice.did, withKey('EcdsaSecp256k1VerificationKey2019', 'z1111')).signingKey, undefined)
    assert.equal(parseDidDocument(alice.did, withKey('JsonWebKey2020', bare)).signingKey, undefined)
    const noFields = parseDidDocument(alice.did, { id: alice.did, alsoKnownAs: ['https://x', 5], service: [{ id: '#atproto_pds', serviceEndpoint: 7 }] })
    assert.deepEqual(noFields, { did: alice.did, handles: [], handle: undefined, pdsEndpoint: undefined, signingKey: undefined })
  })
})

describe('where a DID document is served', () => {
  test('did:plc at the directory, did:web at the domain; anything else is refused before any request', () => {
    assert.equal(didDocumentUrl('did:plc:ewvi7nxzyoun6zhxrhs64oiz', 'https://plc.directory').href, 'https://plc.directory/did:plc:ewvi7nxzyoun6zhxrhs64oiz')
    assert.equal(didDocumentUrl('did:web:example.com', 'https://plc.directory').href, 'https://example.com/.well-known/did.json')
    assert.equal(didDocumentUrl('did:web:localhost%3A8443', 'https://plc.directory').href, 'https://localhost:8443/.well-known/did.json')
    for (const bad of ['did:plc:../../etc', 'did:web:example.com:user:alice', 'did:web:a/b', 'did:key:zQ3s', 'alice.test']) {
      assert.throws(() => didDocumentUrl(bad, 'https://plc.directory'), UsageError, bad)
    }
  })
})
