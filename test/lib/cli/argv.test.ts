// src/lib/cli/argv.ts: the order of the command line before a command is chosen.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hoistLeadingFlags, misplacedFlagsLine } from '../../../src/lib/cli/argv.js'
import { SHARED_FLAGS as shared } from '../../../src/base/command-line.js'
import { PdsCommand } from '../../../src/base/base-command.js'

test("the shared flags bin/run.js reads are the base command's own", () => {
  assert.deepEqual(Object.keys(shared).sort(), Object.keys(PdsCommand.baseFlags).sort())
  for (const [name, def] of Object.entries(shared)) assert.equal(def, (PdsCommand.baseFlags as Record<string, unknown>)[name], name)
})

test('connection flags before the command move after it', () => {
  assert.deepEqual(
    hoistLeadingFlags(['--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky', 'account', 'list', '--json'], shared),
    ['account', 'list', '--json', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky'],
  )
  assert.deepEqual(hoistLeadingFlags(['--url=https://x.example', '--debug', 'health'], shared), ['health', '--url=https://x.example', '--debug'])
  assert.deepEqual(hoistLeadingFlags(['account', 'list', '--url', 'u'], shared), ['account', 'list', '--url', 'u'])
  assert.deepEqual(hoistLeadingFlags(['--version'], shared), ['--version'])
  assert.deepEqual(hoistLeadingFlags(['--url', 'u'], shared), ['--url', 'u'])
  for (const help of ['--help', '-h']) assert.deepEqual(hoistLeadingFlags(['--json', help, 'account'], shared), ['--json', help, 'account'])
})

// Issue 17: `pdsctl --max-response-mb 5 account list` was '"5 account list" is not a pdsctl
// command': the flags that take a value came from a list kept by hand, which missed it.
test('every shared flag that takes a value takes it before the command too (from the definitions, none forgotten)', () => {
  const withValue = Object.entries(shared).filter(([, d]) => d.type === 'option')
  assert.ok(withValue.some(([n]) => n === 'max-response-mb'))
  for (const [name] of withValue) {
    assert.deepEqual(hoistLeadingFlags([`--${name}`, '5', 'account', 'list'], shared), ['account', 'list', `--${name}`, '5'], name)
  }
  for (const [name] of Object.entries(shared).filter(([, d]) => d.type === 'boolean')) {
    assert.deepEqual(hoistLeadingFlags([`--${name}`, 'account', 'list'], shared), ['account', 'list', `--${name}`], name)
  }
})

// Issue 17: `pdsctl --json request-crawl … -- URL` moved --json after the `--`, where it is an argument.
test('leading flags go before any --: what follows it stays arguments', () => {
  assert.deepEqual(hoistLeadingFlags(['--json', 'request-crawl', '--hostname', 'h', '--', 'https://relay.example'], shared), [
    'request-crawl', '--hostname', 'h', '--json', '--', 'https://relay.example',
  ])
  assert.deepEqual(hoistLeadingFlags(['--url', 'u', 'xrpc', 'a.b.c', '--', '--x', '--'], shared), ['xrpc', 'a.b.c', '--url', 'u', '--', '--x', '--'])
})

test('flags between command words name the command meant', () => {
  const commands = new Set(['account:list', 'account:invites:enable', 'backup', 'backup:verify', 'account:info', 'xrpc'])
  const isCommand = (words: string[]) => commands.has(words.join(':'))
  const line = (args: string[]) => misplacedFlagsLine(args, isCommand, 'pdsctl')
  assert.equal(line(['account', '--json', 'list']), '"account --json list": flags go after the command\'s words. Did you mean: pdsctl account list --json?')
  assert.equal(line(['account', '--context', 'prod', 'list', '--limit', '5']), '"account --context prod list": flags go after the command\'s words. Did you mean: pdsctl account list --limit 5 --context prod?')
  assert.equal(line(['account', 'invites', '-y', 'enable', 'alice', '--', 'x']), '"account invites -y enable": flags go after the command\'s words. Did you mean: pdsctl account invites enable alice -y -- x?')
  assert.equal(line(['backup', '--json', 'verify', 'DIR']), '"backup --json verify": flags go after the command\'s words. Did you mean: pdsctl backup verify DIR --json?')
  // Not misplaced: the word is an argument, or comes after --, or there are no flags between.
  assert.equal(line(['account', 'info', '--json', 'list']), undefined)
  assert.equal(line(['account', 'list', '--json']), undefined)
  assert.equal(line(['backup', '--json', 'some-dir']), undefined)
  assert.equal(line(['account', '--json', '--', 'list']), undefined)
  assert.equal(line(['account', '--json']), undefined)
  assert.equal(line(['xrpc', '--method', 'GET', 'com.atproto.x', 'list']), undefined)
})
