import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isLoopbackHost, parsePdsUrl, plcDirectoryUrl } from '../../../src/lib/pds/urls.js'
import { UsageError } from '../../../src/lib/errors.js'

test('PDS URLs: https anywhere, http only to loopback unless allowed, origin only, no credentials', () => {
  assert.equal(parsePdsUrl('https://pds.example.com/'), 'https://pds.example.com')
  assert.equal(parsePdsUrl('pds.example.com'), 'https://pds.example.com')
  assert.equal(parsePdsUrl('http://127.0.0.1:2583'), 'http://127.0.0.1:2583')
  assert.equal(parsePdsUrl('http://localhost:3000'), 'http://localhost:3000')
  assert.equal(parsePdsUrl('http://[::1]:3000'), 'http://[::1]:3000')
  assert.throws(() => parsePdsUrl('http://pds.example.com'), (err: unknown) => {
    assert.ok(err instanceof UsageError)
    assert.match(err.line, /^refusing plain http:\/\/ to pds\.example\.com: the admin password would cross the network unencrypted\. .*--allow-insecure-http/)
    return true
  })
  // A server that gets no secret (PLC directory, relay, public URL): refused for what it answers, and
  // no --allow-insecure-http offered (those commands have none).
  assert.throws(() => parsePdsUrl('http://plc.example.com', { what: 'PLC directory URL (--plc-url)', readOnly: true }), (err: unknown) => {
    assert.ok(err instanceof UsageError)
    assert.match(err.line, /^refusing plain http:\/\/ to plc\.example\.com: what the PLC directory URL \(--plc-url\) answers could be changed on the way\. Use https:\/\/ \(plain http:\/\/ only to a loopback address\)$/)
    return true
  })
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

test('the PLC directory URL: --plc-url, else PDS_DID_PLC_URL with where it came from, else plc.directory; errors name the source', () => {
  assert.equal(plcDirectoryUrl(undefined, undefined), 'https://plc.directory')
  assert.equal(plcDirectoryUrl(undefined, { value: 'http://127.0.0.1:2582', origin: 'PDS_DID_PLC_URL in /pds/pds.env' }), 'http://127.0.0.1:2582')
  assert.equal(plcDirectoryUrl('https://plc.example.com/', { value: 'http://127.0.0.1:2582', origin: 'PDS_DID_PLC_URL' }), 'https://plc.example.com')
  assert.throws(() => plcDirectoryUrl(undefined, { value: 'http://plc.example.com', origin: 'PDS_DID_PLC_URL in /pds/pds.env' }), /refusing plain http:\/\/ to plc\.example\.com: what the PLC directory URL \(from PDS_DID_PLC_URL in \/pds\/pds\.env\) answers/)
  assert.throws(() => plcDirectoryUrl('ftp://plc.example.com', undefined), /PLC directory URL \(from --plc-url\) "ftp:\/\/plc\.example\.com" must use https/)
})
