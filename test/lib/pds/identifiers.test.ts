import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isLoopbackHost, parseAccountRef, parseEmail, parseHandle, parsePdsUrl } from '../../../src/lib/pds/identifiers.js'
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
})

test('PDS URLs: https anywhere, http only to loopback unless allowed, origin only, no credentials', () => {
  assert.equal(parsePdsUrl('https://pds.example.com/'), 'https://pds.example.com')
  assert.equal(parsePdsUrl('pds.example.com'), 'https://pds.example.com')
  assert.equal(parsePdsUrl('http://127.0.0.1:2583'), 'http://127.0.0.1:2583')
  assert.equal(parsePdsUrl('http://localhost:3000'), 'http://localhost:3000')
  assert.equal(parsePdsUrl('http://[::1]:3000'), 'http://[::1]:3000')
  assert.throws(() => parsePdsUrl('http://pds.example.com'), /refusing plain http/)
  assert.equal(parsePdsUrl('http://pds.example.com', { allowHttp: true }), 'http://pds.example.com')
  assert.throws(() => parsePdsUrl('ftp://pds.example.com'), /must use https/)
  assert.throws(() => parsePdsUrl('https://admin:pw@pds.example.com'), /must not carry credentials/)
  assert.throws(() => parsePdsUrl('https://pds.example.com/xrpc'), /just the origin/)
  assert.throws(() => parsePdsUrl('https://'), UsageError)
  assert.ok(isLoopbackHost('127.8.9.10'))
  assert.ok(!isLoopbackHost('127.example.com'))
  assert.ok(!isLoopbackHost('10.0.0.1'))
})

test('a bare loopback address is refused with the http:// form to use (not blamed on a certificate later)', () => {
  assert.throws(() => parsePdsUrl('127.0.0.1:3000'), (err: unknown) => {
    assert.ok(err instanceof UsageError)
    assert.match(err.line, /"127\.0\.0\.1:3000" has no scheme\. .*try http:\/\/127\.0\.0\.1:3000/)
    return true
  })
  assert.throws(() => parsePdsUrl('localhost:2583'), /no scheme/)
  assert.equal(parsePdsUrl('http://127.0.0.1:3000'), 'http://127.0.0.1:3000')
  assert.equal(parsePdsUrl('pds.example.com'), 'https://pds.example.com')
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
