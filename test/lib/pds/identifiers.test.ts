import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseAccountRef, parseEmail, parseHandle } from '../../../src/lib/pds/identifiers.js'
import { UsageError } from '../../../src/lib/errors.js'

test('accounts by DID or handle; handles normalised; junk rejected', () => {
  assert.deepEqual(parseAccountRef('did:plc:ewvi7nxzyoun6zhxrhs64oiz'), { kind: 'did', did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz' })
  assert.deepEqual(parseAccountRef('did:web:example.com'), { kind: 'did', did: 'did:web:example.com' })
  assert.deepEqual(parseAccountRef('@Alice.Example.COM'), { kind: 'handle', handle: 'alice.example.com' })
  for (const bad of ['did:plc:', 'did:', 'did:PLC:abc', 'alice', 'alice..example.com', 'al ice.example.com', '-a.example.com', '']) {
    assert.throws(() => parseAccountRef(bad), UsageError, bad)
  }
  assert.equal(parseHandle('bob.test'), 'bob.test')
  assert.throws(() => parseHandle('did:plc:abc'), UsageError)
})

test('emails', () => {
  assert.equal(parseEmail(' a.b+c@example.co.uk '), 'a.b+c@example.co.uk')
  for (const bad of ['a', 'a@b', '@example.com', 'a b@example.com', 'a@example.', 'a@@example.com']) {
    assert.throws(() => parseEmail(bad), UsageError, bad)
  }
  // Addresses in other scripts are letters, not control characters: they pass.
  assert.equal(parseEmail('jörg@例え.jp'), 'jörg@例え.jp')
  // Control and format characters anywhere (ESC, DEL, a C1 CSI, a bidi override, a
  // zero-width space or joiner, NUL) are refused, and the message says why.
  for (const ch of ['\u001b', '\u007f', '\u009b', '\u202e', '\u200b', '\u200d', '\u0000']) {
    for (const bad of [`a${ch}b@example.com`, `ab@ex${ch}ample.com`, `ab@example.c${ch}om`]) {
      assert.throws(() => parseEmail(bad), (err: unknown) => err instanceof UsageError && err.exitCode === 2 && /control or invisible character/.test(err.message), JSON.stringify(bad))
    }
  }
})

test('DIDs a PDS cannot host are bad input (exit 2), not "not found"', () => {
  for (const bad of ['did:foo:bar', 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme', 'did:plc:abc', 'did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ', 'did:plc:ewvi7nxzyoun6zhxrhs64oiz0', 'did:web:exa_mple.com']) {
    assert.throws(() => parseAccountRef(bad), (err: unknown) => err instanceof UsageError && err.exitCode === 2 && err.line.includes(bad), bad)
  }
  assert.match((() => {
    try {
      parseAccountRef('did:foo:bar')
    } catch (err) {
      return (err as UsageError).line
    }
    return ''
  })(), /method "foo".*did:plc/)
  assert.deepEqual(parseAccountRef('did:web:localhost%3A2583'), { kind: 'did', did: 'did:web:localhost%3A2583' })
})
