// What the identity verbs refuse before any request (exit 2), and generate-key, which needs
// no server. The URLs point at a closed port: a request would fail differently (exit 1).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { lstatSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Secp256k1Keypair } from '@atproto/crypto'
import { runCli } from '../../helpers/cli.js'
import { publicDidKeyOfHex } from '../../../src/lib/identity/keys.js'
import type { GenerateKeyResult } from '../../../src/commands/identity/generate-key.js'

const DOWN = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x', PDS_DID_PLC_URL: 'http://127.0.0.1:9' }
const K256 = 'did:key:zQ3shtwLRfYdk7UUzWjMXiM2uUXy8rntcqhBS7cJKBnLxBt7M'

describe('identity: bad input is exit 2, before any request', () => {
  const cases: Array<[string[], RegExp, string?]> = [
    [['identity', 'show', 'did:plc:tooshort'], /is not a valid did:plc/],
    [['identity', 'show', 'alice.test', '--plc-url', 'ftp://plc.example'], /PLC directory URL .* must use https:\/\//],
    [['identity', 'show', 'alice.test', '--plc-url', 'http://plc.example.com'], /refusing plain http:\/\/ to plc\.example\.com: what the PLC directory URL .* answers could be changed on the way\. Use https:\/\//],
    [['identity', 'show', 'alice.test', '--public-url', 'https://pds.example.com/path'], /must be just the origin/],
    [['identity', 'check', '--problem', 'nonsense'], /--problem/],
    [['identity', 'check', '--concurrency', '0'], /--concurrency/],
    [['identity', 'add-rotation-key', 'alice.test', '--key', 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', '--password-stdin'], /not a secp256k1 or P-256 did:key .*Ed25519/, 'pw'],
    [['identity', 'add-rotation-key', 'alice.test', '--key', 'ab'.repeat(32), '--password-stdin'], /looks like a private key/, 'pw'],
    [['identity', 'add-rotation-key', 'alice.test', '--key', 'did:key:notbase58!', '--password-stdin'], /is not a did:key/, 'pw'],
    [['identity', 'add-rotation-key', 'did:web:example.com', '--key', K256, '--password-stdin'], /only did:plc identities have rotation keys/, 'pw'],
    [['identity', 'add-rotation-key', 'alice.test', '--key', K256, '--token', 'nope', '--password-stdin'], /does not look like the token the PDS mails/, 'pw'],
    [['identity', 'move-host', '--from', 'https://old.example.com', '--to', 'http://new.example.com'], /refusing plain http:\/\/ to new\.example\.com/],
    [['identity', 'move-host', '--from', 'https://old.example.com', '--to', 'https://new.example.com/x'], /must be just the origin/],
    [['identity', 'move-host', '--from', 'https://a.example.com', '--to', 'https://a.example.com'], /--from and --to are the same URL/],
    [['identity', 'move-host', 'did:plc:nope', '--from', 'https://a.example.com', '--to', 'https://b.example.com'], /is not a valid did:plc/],
    // No rotation key anywhere: move-host cannot sign, and says where the key goes (never a flag).
    [['identity', 'move-host', '--from', 'https://a.example.com', '--to', 'https://b.example.com', '--dry-run'], /PLC rotation key is needed .*PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX.*never accepted as a flag/],
    [['identity', 'generate-key', '--type', 'ed25519'], /--type/],
  ]
  for (const [args, message, stdin] of cases) {
    test(`pdsctl ${args.join(' ')}`, async () => {
      const res = await runCli(args, { env: DOWN, stdin })
      assert.equal(res.code, 2, res.stderr)
      assert.match(res.stderr, message)
      assert.equal(res.stderr.split('\n').filter(Boolean).length, 1, res.stderr)
    })
  }

  test('six keys at once: exit 2 before any request', async () => {
    const keys = await Promise.all(Array.from({ length: 6 }, async () => (await Secp256k1Keypair.create()).did()))
    const res = await runCli(['identity', 'add-rotation-key', 'alice.test', ...keys.flatMap((k) => ['--key', k]), '--password-stdin'], { env: DOWN, stdin: 'pw' })
    assert.equal(res.code, 2, res.stderr)
    assert.match(res.stderr, /6 keys given: a DID has at most 5 rotation keys/)
  })

  test('a malformed rotation key in the env file: exit 2, and the value is never shown', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-idin-'))
    const file = path.join(dir, 'pds.env')
    const bad = 'f'.repeat(63) + 'x'
    writeFileSync(file, `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=${bad}\n`)
    const res = await runCli(['identity', 'move-host', '--from', 'https://a.example.com', '--to', 'https://b.example.com', '--dry-run', '--env-file', file], { env: DOWN })
    assert.equal(res.code, 2, res.stderr)
    assert.match(res.stderr, /PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX \(PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX in .*pds\.env\) is not a private key of 64 hex characters/)
    assert.ok(!res.stderr.includes(bad))
  })
})

describe('identity generate-key', () => {
  test('to a file: mode 0600, the private key inside, the public key on stdout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-genkey-'))
    const file = path.join(dir, 'recovery.key')
    const res = await runCli(['identity', 'generate-key', '--output', file], {})
    assert.equal(res.code, 0, res.stderr)
    const hex = readFileSync(file, 'utf8').trim()
    assert.match(hex, /^[0-9a-f]{64}$/)
    assert.equal(lstatSync(file).mode & 0o777, 0o600)
    assert.equal(res.stdout, `${await publicDidKeyOfHex(hex, 'k')}\n`)
    assert.ok(!res.stdout.includes(hex) && !res.stderr.includes(hex))
    assert.match(res.stderr, /Wrote the private key to .* \(mode 0600\)/)
  })

  test('an existing file or a symbolic link is refused before any key is made', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-genkey-'))
    const existing = path.join(dir, 'there.key')
    writeFileSync(existing, 'keep me')
    const target = path.join(dir, 'target')
    const link = path.join(dir, 'link.key')
    symlinkSync(target, link)
    for (const f of [existing, link]) {
      const res = await runCli(['identity', 'generate-key', '--output', f, '--json'])
      assert.equal(res.code, 2, res.stderr)
      assert.match(res.stderr, /exists.*refusing to write a private key over it/)
      assert.deepEqual(Object.keys(JSON.parse(res.stdout)), ['error'])
    }
    assert.equal(readFileSync(existing, 'utf8'), 'keep me')
    assert.throws(() => lstatSync(target), /ENOENT/, 'nothing written through the link')
  })

  test('to stdout once (piped: the hex alone), P-256 too; --json', async () => {
    const res = await runCli(['identity', 'generate-key', '--type', 'p256'])
    assert.equal(res.code, 0, res.stderr)
    const hex = res.stdout.trim()
    assert.match(hex, /^[0-9a-f]{64}$/)
    const didKey = /Public key: (did:key:\S+)/.exec(res.stderr)?.[1]
    assert.ok(didKey?.startsWith('did:key:zDn'), res.stderr)
    assert.equal(await publicDidKeyOfHex(hex, 'k', 'p256'), didKey)
    const json = await runCli(['identity', 'generate-key', '--json'])
    const r = JSON.parse(json.stdout) as GenerateKeyResult
    assert.equal(r.type, 'secp256k1')
    assert.equal(r.file, null)
    assert.equal(await publicDidKeyOfHex(r.privateKeyHex!, 'k'), r.didKey)
  })
})
