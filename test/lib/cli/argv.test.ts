import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hoistLeadingFlags } from '../../../src/lib/cli/argv.js'

test('connection flags before the command move after it', () => {
  assert.deepEqual(
    hoistLeadingFlags(['--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky', 'account', 'list', '--json']),
    ['account', 'list', '--json', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky'],
  )
  assert.deepEqual(hoistLeadingFlags(['--url=https://x.example', '--debug', 'health']), ['health', '--url=https://x.example', '--debug'])
  assert.deepEqual(hoistLeadingFlags(['account', 'list', '--url', 'u']), ['account', 'list', '--url', 'u'])
  assert.deepEqual(hoistLeadingFlags(['--version']), ['--version'])
  assert.deepEqual(hoistLeadingFlags(['--url', 'u']), ['--url', 'u'])
})
