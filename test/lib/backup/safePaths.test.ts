// The one function that turns a name from a server into a file name, and the check of a
// manifest entry: what parses maps to an ordinary file name, anything else is an error
// naming the value, never a path.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UntrustedNameError, backupPaths, fileNameFor } from '../../../src/lib/backup/safePaths.js'
import { entryProblems } from '../../../src/lib/backup/layout.js'

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'
const CIDV1 = 'bafkreidopln5ollclhhtgubxtweklr53izvyhbto6yqx7oa5ni5h4kamee'

test('what parses maps to one ordinary path component', () => {
  assert.equal(fileNameFor('did', DID), 'did_plc_ewvi7nxzyoun6zhxrhs64oiz')
  assert.equal(fileNameFor('did', 'did:web:pds.example.com'), 'did_web_pds.example.com')
  assert.equal(fileNameFor('did', 'did:web:localhost%3A2583'), 'did_web_localhost%3A2583')
  assert.equal(fileNameFor('rev', '3kaaaaaaaaa22'), '3kaaaaaaaaa22')
  assert.equal(fileNameFor('cid', CIDV1), CIDV1)
  assert.equal(fileNameFor('rkey', 'self'), 'self')
  assert.equal(fileNameFor('handle', 'alice.example.com'), 'alice.example.com')
  assert.equal(backupPaths.diff(DID, '3kaaaaaaaaa22'), 'accounts/did_plc_ewvi7nxzyoun6zhxrhs64oiz/diffs/3kaaaaaaaaa22.car')
  assert.equal(backupPaths.blob(DID, CIDV1), `accounts/did_plc_ewvi7nxzyoun6zhxrhs64oiz/blobs/${CIDV1}`)
})

test('anything else is an error naming the value, whatever it holds', () => {
  const bad: Array<[Parameters<typeof fileNameFor>[0], unknown]> = [
    ['did', 'did:plc:/../../../tmp/x/victim'],
    ['did', '../../../tmp/x'],
    ['did', 'did:web:..'],
    ['did', 'did:web:../../x'],
    ['did', 'did:plc:..%2F..'],
    ['did', 'did:plc:abc'],
    ['did', 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme'],
    ['did', `did:web:${'a'.repeat(300)}.com`],
    ['did', 42],
    ['rev', '../../../../tmp/x/evilrev'],
    ['rev', '3kaaaaaaaaa2/'],
    ['rev', ''],
    ['cid', '../../../../etc/hostname'],
    ['cid', `${CIDV1}/..`],
    ['cid', 'zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA'], // the same kind of CID, not in canonical form
    ['rkey', '..'],
    ['rkey', '.'],
    ['rkey', 'a/b'],
    ['rkey', '.hidden'],
    ['handle', '../x.com'],
    ['handle', 'Alice.Example.com'],
  ]
  // Twice: names that passed are remembered (fileNameFor's memo), failures never are.
  for (let round = 0; round < 2; round++) {
    for (const [kind, value] of bad) {
      assert.throws(
        () => fileNameFor(kind, value),
        (err: unknown) => err instanceof UntrustedNameError && err.message.includes(JSON.stringify(String(value).slice(0, 120)).slice(1, -1)),
        `${kind} ${String(value)}`,
      )
    }
  }
  // A value that passed as one kind is still checked as another.
  assert.equal(fileNameFor('rkey', 'self'), 'self')
  assert.throws(() => fileNameFor('cid', 'self'), UntrustedNameError)
  assert.throws(() => fileNameFor('did', CIDV1), UntrustedNameError)
  assert.throws(() => fileNameFor('rev', '\u001b[2J', 'getRepo: rev'), /getRepo: rev "\\u001b\[2J" is not a TID/)
})

test('entryProblems: a manifest entry must name exactly the files pdsctl writes for its DID', () => {
  const sha = 'a'.repeat(64)
  const good = {
    did: DID,
    handle: 'alice.test',
    status: 'active',
    rev: '3kaaaaaaaab22',
    head: CIDV1,
    repo: { path: backupPaths.repo(DID), size: 10, sha256: sha, rev: '3kaaaaaaaaa22' },
    diffs: [{ path: backupPaths.diff(DID, '3kaaaaaaaab22'), size: 1, sha256: sha, rev: '3kaaaaaaaab22', since: '3kaaaaaaaaa22' }],
    account: { path: backupPaths.account(DID), size: 1, sha256: sha },
    blobs: [{ cid: CIDV1, size: 1, sha256: sha, mimeType: null }],
    backedUpAt: '2026-01-01T00:00:00Z',
  }
  assert.deepEqual(entryProblems(good), [])
  assert.deepEqual(entryProblems(good, 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa').length, 1)
  const cases: Array<[(e: any) => void, RegExp]> = [
    [(e) => (e.repo.path = '../outside/passwd'), /repository path is not the file pdsctl writes \(accounts\/did_plc_\w+\/repo\.car\)/],
    [(e) => (e.diffs[0].path = `${backupPaths.diffs(DID)}/../../../x.car`), /diff 1 path is not the file pdsctl writes/],
    [(e) => (e.diffs[0].rev = '../../x'), /diff 1: rev "\.\.\/\.\.\/x" is not a TID/],
    [(e) => (e.blobs[0].cid = '../../etc/hostname'), /blob "\.\.\/\.\.\/etc\/hostname" is not a CID/],
    [(e) => (e.did = 'did:plc:/../..'), /not a DID a PDS hosts/],
    [(e) => (e.head = 'nope'), /head "nope" is not a CID/],
    [(e) => (e.account.sha256 = 'x'), /account\.json has no valid sha256/],
  ]
  for (const [edit, re] of cases) {
    const e = structuredClone(good)
    edit(e)
    const problems = entryProblems(e)
    assert.ok(problems.some((p) => re.test(p)), `${re}: ${JSON.stringify(problems)}`)
    assert.ok(!problems.some((p) => p.includes('outside/passwd')), 'a bad path is not echoed')
  }
})
