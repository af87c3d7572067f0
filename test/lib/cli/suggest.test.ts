import { test } from 'node:test'
import assert from 'node:assert/strict'
import { closest, editDistance, suggestCommand } from '../../../src/lib/cli/suggest.js'

const IDS = [['account', 'list'], ['account', 'info'], ['account', 'invites', 'disable'], ['invite', 'list'], ['invite', 'create'], ['k8s', 'forward'], ['health'], ['account'], ['invite']]

test('edit distance counts a swap of neighbours as one', () => {
  assert.equal(editDistance('lsit', 'list'), 1)
  assert.equal(editDistance('acount', 'account'), 1)
  assert.equal(editDistance('', 'abc'), 3)
})

test('flags: the nearest known flag, only when near enough', () => {
  const flags = ['--json', '--debug', '--no-input', '--url', '--limit']
  assert.equal(closest('--jsn', flags), '--json')
  assert.equal(closest('--limt', flags), '--limit')
  assert.equal(closest('--zzzzzz', flags), undefined)
})

test('commands: leading words compared with each command, the rest of the line kept', () => {
  assert.deepEqual(suggestCommand(['acount', 'list'], IDS), ['account', 'list'])
  assert.deepEqual(suggestCommand(['acount', 'info', 'alice.test'], IDS), ['account', 'info', 'alice.test'])
  assert.deepEqual(suggestCommand(['invite', 'lsit'], IDS), ['invite', 'list'])
  assert.deepEqual(suggestCommand(['helth'], IDS), ['health'])
  assert.equal(suggestCommand(['xyzzyplugh'], IDS), undefined)
})
