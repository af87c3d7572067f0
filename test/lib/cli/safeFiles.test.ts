// The file primitives every file pdsctl writes goes through: folders that must be the
// user's own, writes that never follow a link (not even a dangling one), reads that
// refuse links, deletes only of regular files, paths that must stay inside their root.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  LinkRefusedError,
  checkOwnFolder,
  createExclusive,
  createExclusiveFd,
  ensurePrivateFolder,
  lstatSyncIfAny,
  readFileNoFollow,
  readFileNoFollowSync,
  removeRegularFile,
  resolveInside,
  writeFileReplacing,
} from '../../../src/lib/cli/safeFiles.js'
import { UsageError } from '../../../src/lib/errors.js'

const tmp = () => mkdtempSync(path.join(tmpdir(), 'pdsctl-safefiles-'))

test('checkOwnFolder: the user\'s own folder passes; another owner, group/other write, a loose parent are refused with the fix', async () => {
  const root = tmp()
  const dir = path.join(root, 'dir')
  mkdirSync(dir, { mode: 0o700 })
  assert.equal(await checkOwnFolder(dir), dir)
  // Through a link the user named: the real folder is what is checked and returned.
  symlinkSync(dir, path.join(root, 'via'))
  assert.equal(await checkOwnFolder(path.join(root, 'via')), dir)
  chmodSync(dir, 0o770)
  await assert.rejects(checkOwnFolder(dir), (e: Error) => e instanceof UsageError && /writable by its group .*chmod go-w/.test((e as UsageError).line))
  chmodSync(dir, 0o757)
  await assert.rejects(checkOwnFolder(dir), /writable by others/)
  chmodSync(dir, 0o755)
  if (process.getuid?.() === 0) {
    chownSync(dir, 65534, 65534)
    await assert.rejects(checkOwnFolder(dir), (e: Error) => /belongs to user 65534/.test(e.message) && /chown 0 /.test((e as UsageError).line))
    chownSync(dir, 0, 0)
  }
  chmodSync(root, 0o777)
  await assert.rejects(checkOwnFolder(dir), /above .* is writable by others without the sticky bit/)
  chmodSync(root, 0o1777)
  assert.equal(await checkOwnFolder(dir), dir, 'a sticky world-writable parent (as /tmp) is fine')
})

test('ensurePrivateFolder: made 0700 whatever the umask, tightened when loose, a link refused and named', async () => {
  const root = tmp()
  const old = process.umask(0)
  try {
    await ensurePrivateFolder(path.join(root, 'a'), 'a', 'the test')
    assert.equal(statSync(path.join(root, 'a')).mode & 0o777, 0o700)
  } finally {
    process.umask(old)
  }
  mkdirSync(path.join(root, 'b'))
  chmodSync(path.join(root, 'b'), 0o777)
  await ensurePrivateFolder(path.join(root, 'b'), 'b', 'the test')
  assert.equal(statSync(path.join(root, 'b')).mode & 0o777, 0o700)
  symlinkSync(path.join(root, 'b'), path.join(root, 'c'))
  await assert.rejects(ensurePrivateFolder(path.join(root, 'c'), 'SHOWN/c', 'the test'), (e: Error) => e instanceof LinkRefusedError && e.message.includes('SHOWN/c is a symbolic link'))
})

test('writes never follow a link: exclusive create refuses even a dangling one; replace swaps the link itself; mode exact under umask 000', async () => {
  const root = tmp()
  const victim = path.join(root, 'victim')
  const link = path.join(root, 'link')
  symlinkSync(victim, link)
  await assert.rejects(createExclusive(link, 0o600), { code: 'EEXIST' })
  assert.equal(existsSync(victim), false)
  const old = process.umask(0)
  try {
    await writeFileReplacing(link, 'secret', 0o600)
  } finally {
    process.umask(old)
  }
  assert.equal(existsSync(victim), false, 'the link was not written through')
  assert.equal(lstatSync(link).isFile(), true)
  assert.equal(statSync(link).mode & 0o777, 0o600)
  assert.equal(readFileSync(link, 'utf8'), 'secret')
})

test('reads and deletes refuse links; deletes only regular files', async () => {
  const root = tmp()
  writeFileSync(path.join(root, 'target'), 'keep me')
  symlinkSync(path.join(root, 'target'), path.join(root, 'link'))
  await assert.rejects(readFileNoFollow(path.join(root, 'link'), 'link', 'the test'), LinkRefusedError)
  await assert.rejects(removeRegularFile(path.join(root, 'link'), 'link', 'the test'), LinkRefusedError)
  assert.equal(readFileSync(path.join(root, 'target'), 'utf8'), 'keep me')
  assert.equal(lstatSync(path.join(root, 'link')).isSymbolicLink(), true)
  assert.equal(await readFileNoFollow(path.join(root, 'missing'), 'missing', 'the test'), undefined)
  assert.equal(await removeRegularFile(path.join(root, 'missing'), 'missing', 'the test'), false)
  assert.equal(await removeRegularFile(path.join(root, 'target'), 'target', 'the test'), true)
  assert.equal(existsSync(path.join(root, 'target')), false)
})

test('the descriptor and synchronous-read primitives keep the same rules: exact 0600 files under umask 000 and 277, links refused and never followed', async () => {
  const root = tmp()
  mkdirSync(path.join(root, 'a'))
  for (const [mask, name] of [
    [0o000, 'f'],
    [0o277, 'g'], // a umask that narrows 0600 (to 0400): set back to exactly 0600
  ] as const) {
    const old = process.umask(mask)
    try {
      closeSync(await createExclusiveFd(path.join(root, 'a', name), 0o600))
    } finally {
      process.umask(old)
    }
    assert.equal(statSync(path.join(root, 'a', name)).mode & 0o777, 0o600, `umask ${mask.toString(8)}`)
  }
  await assert.rejects(createExclusiveFd(path.join(root, 'a', 'f'), 0o600), { code: 'EEXIST' })

  // A dangling link where a file is to be made: refused, nothing made at its target.
  const victim = path.join(root, 'victim')
  symlinkSync(victim, path.join(root, 'dangling'))
  await assert.rejects(createExclusiveFd(path.join(root, 'dangling'), 0o600), { code: 'EEXIST' })
  assert.equal(existsSync(victim), false)

  writeFileSync(path.join(root, 'target'), 'keep me')
  symlinkSync(path.join(root, 'target'), path.join(root, 'link'))
  assert.throws(() => readFileNoFollowSync(path.join(root, 'link'), 'link', 'the test'), LinkRefusedError)
  assert.throws(() => readFileNoFollowSync(path.join(root, 'a'), 'a', 'the test'), /is not a regular file|EISDIR/)
  assert.equal(readFileNoFollowSync(path.join(root, 'target'), 'target', 'the test')?.toString(), 'keep me')
  assert.equal(readFileNoFollowSync(path.join(root, 'missing'), 'missing', 'the test'), undefined)
  assert.equal(lstatSyncIfAny(path.join(root, 'missing')), undefined)
  assert.equal(lstatSyncIfAny(path.join(root, 'link'))?.isSymbolicLink(), true)
  // ensurePrivateFolder (its checks read synchronously): a file where a folder is wanted is named.
  await assert.rejects(ensurePrivateFolder(path.join(root, 'target'), 'target', 'the test'), /is not a folder/)
})

test('resolveInside: only paths strictly below the root', () => {
  assert.equal(resolveInside('/b', 'accounts/x/repo.car'), '/b/accounts/x/repo.car')
  for (const bad of ['../x', 'a/../../x', '/etc/passwd', '.', 'a/..', '..']) assert.throws(() => resolveInside('/b', bad), /outside/, bad)
})
