// The migration's state file: where it lives, how it is written (0600, temp + rename, no
// link followed) and what is refused on reading (a link, another user's file, one open to
// others, something that is not a migration state). And the small pure helpers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { didFileName, newState, readState, statePath, sweepTempStates, writeState } from '../../../src/lib/migrate/state.js'
import { canonical, defaultHandle, sameServer } from '../../../src/lib/migrate/migrate.js'
import { UsageError } from '../../../src/lib/errors.js'

const DID = 'did:plc:abcdefghijklmnopqrstuvwx'

test('one file per DID, direction and other PDS, named from the parsed DID only', () => {
  const a = statePath('/c', DID, 'in', 'https://old.example')
  assert.match(a, /^\/c\/migrations\/did_plc_abcdefghijklmnopqrstuvwx\.in\.[0-9a-f]{12}\.json$/)
  assert.notEqual(a, statePath('/c', DID, 'out', 'https://old.example'))
  assert.notEqual(a, statePath('/c', DID, 'in', 'https://other.example'))
  assert.equal(a, statePath('/c', DID, 'in', 'https://old.example/'))
  assert.equal(didFileName('did:web:alice.example.com%3A8443'), 'did_web_alice.example.com_8443')
  for (const bad of ['did:plc:../../etc', 'did:web:../x', 'did:web:.hidden', 'did:plc:ABC', 'did:key:z6Mk', 'did:web:a/b']) {
    assert.throws(() => didFileName(bad), UsageError, bad)
  }
})

test('written 0600 in a 0700 folder, atomically; read back; temp files of a killed run swept', async () => {
  const config = mkdtempSync(path.join(tmpdir(), 'pdsctl-state-'))
  const file = statePath(config, DID, 'in', 'https://old.example')
  const state = newState(DID, 'in', 'https://old.example', 'https://new.example')
  state.handle = 'alice.new.example'
  const old = process.umask(0)
  try {
    await writeState(file, state)
  } finally {
    process.umask(old)
  }
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700)
  assert.deepEqual((await readState(file))?.handle, 'alice.new.example')
  assert.deepEqual(readdirSync(path.dirname(file)), [path.basename(file)], 'no temp file left')
  writeFileSync(path.join(path.dirname(file), `.${path.basename(file)}.0123456789ab.tmp`), '{', { mode: 0o600 })
  await sweepTempStates(config)
  assert.deepEqual(readdirSync(path.dirname(file)), [path.basename(file)])
  assert.equal(await readState(path.join(path.dirname(file), 'nothing.json')), undefined)
})

test('refused: a link, a file open to others, a folder open to others, a file that is not a state', async () => {
  const config = mkdtempSync(path.join(tmpdir(), 'pdsctl-state-'))
  const dir = path.join(config, 'migrations')
  mkdirSync(dir, { mode: 0o700 })
  const target = path.join(config, 'elsewhere.json')
  writeFileSync(target, JSON.stringify(newState(DID, 'in', 'https://a.example', 'https://b.example')), { mode: 0o600 })
  const link = statePath(config, DID, 'in', 'https://a.example')
  symlinkSync(target, link)
  await assert.rejects(readState(link), /not a regular file \(a link\?\)/)
  // Writing replaces the link itself (rename over it), never the file it points to.
  await writeState(link, newState(DID, 'in', 'https://a.example', 'https://c.example'))
  assert.equal(JSON.parse(readFileSync(target, 'utf8')).to, 'https://b.example')
  assert.equal((await readState(link))?.to, 'https://c.example')

  chmodSync(link, 0o644)
  await assert.rejects(readState(link), /open to other users \(mode 644\)/)
  chmodSync(link, 0o600)
  writeFileSync(link, '{"format":"something else"}', { mode: 0o600 })
  await assert.rejects(readState(link), /is not a pdsctl migration state/)
  writeFileSync(link, 'not json', { mode: 0o600 })
  await assert.rejects(readState(link), /is not valid JSON/)

  chmodSync(dir, 0o777)
  await assert.rejects(writeState(link, newState(DID, 'in', 'https://a.example', 'https://b.example')), /open to other users/)
  chmodSync(dir, 0o700)
})

test('the default new handle; loopback addresses of one server; canonical JSON', () => {
  assert.equal(defaultHandle('alice.old.example', ['.old.example'], ['.new.example']), 'alice.new.example')
  assert.equal(defaultHandle('alice.bsky.social', ['.bsky.social'], ['.pds.example.com', '.other.example']), 'alice.pds.example.com')
  assert.equal(defaultHandle('alice.example.com', ['.old.example'], ['.new.example']), 'alice.example.com', 'a custom domain is kept')
  assert.equal(defaultHandle('alice.old.example', ['.old.example'], []), undefined)
  assert.ok(sameServer('http://localhost:2583', 'http://127.0.0.1:2583'))
  assert.ok(sameServer('http://[::1]:2583/', 'http://localhost:2583'))
  assert.ok(!sameServer('http://localhost:2583', 'http://127.0.0.1:2584'))
  assert.ok(!sameServer('https://pds.example.com', 'https://127.0.0.1'))
  assert.ok(sameServer('https://pds.example.com/', 'https://pds.example.com'))
  assert.equal(canonical({ b: 1, a: [{ d: 2, c: 3 }] }), canonical({ a: [{ c: 3, d: 2 }], b: 1 }))
})
