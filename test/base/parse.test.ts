// src/base/parse.ts: pdsctl's own command-line parser (the run path loads no oclif).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Flags from '../../src/base/flags.js'
import * as Args from '../../src/base/args.js'
import { parseCommandLine, type ParseInput } from '../../src/base/parse.js'
import { UsageError } from '../../src/lib/errors.js'

const input = (over: Partial<ParseInput> = {}): ParseInput => ({
  id: 'account:list',
  bin: 'pdsctl',
  strict: true,
  args: {},
  flags: {
    json: Flags.boolean({}),
    yes: Flags.boolean({ char: 'y' }),
    quiet: Flags.boolean({ char: 'q' }),
    output: Flags.string({ char: 'o', options: ['did', 'handle'] }),
    url: Flags.string({}),
    limit: Flags.integer({ min: 1, max: 1000 }),
    timeout: Flags.integer({ default: 30 }),
    status: Flags.string({ multiple: true }),
    confirmed: Flags.boolean({ exclusive: ['unconfirmed'] }),
    unconfirmed: Flags.boolean({ exclusive: ['confirmed'] }),
    disable: Flags.boolean({}),
    'dry-run': Flags.boolean({ dependsOn: ['disable'] }),
    secret: Flags.string({ hidden: true }),
  } as ParseInput['flags'],
  ...over,
})

const fails = (argv: string[], line: string | RegExp, over: Partial<ParseInput> = {}) =>
  assert.throws(
    () => parseCommandLine(argv, input(over)),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err))
      if (typeof line === 'string') assert.equal(err.line, line)
      else assert.match(err.line, line)
      return true
    },
  )

test('long, long=, short, short-attached and grouped short flags; defaults; -- ends the flags', () => {
  const r = parseCommandLine(['--url', 'https://a.example', '--limit=5', '-yq', '-odid', '--', '--json'], input({ strict: false }))
  assert.deepEqual(r.flags, { url: 'https://a.example', limit: 5, yes: true, quiet: true, output: 'did', timeout: 30 })
  assert.deepEqual(r.argv, ['--json'])
  assert.deepEqual(parseCommandLine(['-o', 'handle', '--json'], input()).flags, { output: 'handle', json: true, timeout: 30 })
  assert.equal(parseCommandLine(['-o=did'], input()).flags.output, 'did')
})

test('a repeatable flag takes one value each time; a value may start with a digit or be negative', () => {
  const r = parseCommandLine(['--status', 'active', '--status=deactivated', '--url', '-5'], input())
  assert.deepEqual(r.flags.status, ['active', 'deactivated'])
  assert.equal(r.flags.url, '-5')
})

test('arguments: in order, - is an argument, required ones named with the fix', () => {
  const args = { account: Args.string({ description: 'The account: handle or DID.', required: true }), cid: Args.string({ description: 'The blob CID.', required: true }) }
  const r = parseCommandLine(['-', 'bafy', '--json'], input({ id: 'blob:takedown', args: args as ParseInput['args'] }))
  assert.deepEqual(r.args, { account: '-', cid: 'bafy' })
  fails([], 'missing ACCOUNT (the account: handle or DID) and CID (the blob CID). Fix: pdsctl blob takedown ACCOUNT CID', { id: 'blob:takedown', args: args as ParseInput['args'] })
  fails(['did:plc:x'], 'missing CID (the blob CID). Fix: pdsctl blob takedown ACCOUNT CID', { id: 'blob:takedown', args: args as ParseInput['args'] })
  fails(['a', 'b', 'c', 'd'], 'unexpected arguments c, d (see pdsctl blob takedown --help)', { id: 'blob:takedown', args: args as ParseInput['args'] })
  assert.deepEqual(parseCommandLine(['a', 'b', 'c'], input({ strict: false })).argv, ['a', 'b', 'c'])
})

test('mistakes are one line each, naming the flag and the help to read', () => {
  fails(['--jsn'], 'unknown flag --jsn; did you mean --json? (see pdsctl account list --help)')
  fails(['--zzzzzz', '-k'], 'unknown flag --zzzzzz; unknown flag -k (see pdsctl account list --help)')
  fails(['--secrt'], 'unknown flag --secrt (see pdsctl account list --help)') // hidden flags are never suggested
  fails(['--url'], '--url needs a value (see pdsctl account list --help)')
  fails(['--url', '--json'], '--url needs a value (see pdsctl account list --help)')
  fails(['--output'], '--output needs a value: one of did, handle (see pdsctl account list --help)')
  fails(['--output', 'email'], 'Expected --output=email to be one of: did, handle (see pdsctl account list --help)')
  fails(['--url', 'a', '--url', 'b'], '--url was given twice (see pdsctl account list --help)')
  fails(['--json=false'], '--json takes no value (give --json alone) (see pdsctl account list --help)')
  fails(['--limit', 'ten'], '--limit takes a whole number, not "ten" (see pdsctl account list --help)')
  fails(['--limit', '0'], '--limit must be at least 1, not 0 (see pdsctl account list --help)')
  fails(['--limit', '1001'], '--limit must be at most 1000, not 1001 (see pdsctl account list --help)')
  fails(['--unconfirmed', '--confirmed'], '--confirmed and --unconfirmed cannot be used together (see pdsctl account list --help)')
  fails(['--dry-run'], '--dry-run needs --disable (see pdsctl account list --help)')
  assert.equal(parseCommandLine(['--dry-run', '--disable'], input()).flags['dry-run'], true)
})

test('required flags: missing ones named with a fix using their placeholders', () => {
  const flags = { handle: Flags.string({ required: true, helpValue: 'HANDLE' }), 'invite-code': Flags.string({ required: true }) } as ParseInput['flags']
  fails([], 'missing --handle and --invite-code. Fix: pdsctl account create --handle HANDLE --invite-code INVITE_CODE', { id: 'account:create', flags })
})

test('a flag with env falls back to that variable, and is checked like a typed value', () => {
  const flags = { 'plc-url': Flags.string({ env: 'PDSCTL_TEST_PLC', default: 'https://plc.directory' }), n: Flags.integer({ env: 'PDSCTL_TEST_N' }) } as ParseInput['flags']
  assert.equal(parseCommandLine([], input({ flags })).flags['plc-url'], 'https://plc.directory')
  process.env.PDSCTL_TEST_PLC = 'http://127.0.0.1:2582'
  process.env.PDSCTL_TEST_N = 'x'
  try {
    assert.equal(parseCommandLine([], input({ flags: { 'plc-url': flags['plc-url'] } })).flags['plc-url'], 'http://127.0.0.1:2582')
    assert.equal(parseCommandLine(['--plc-url', 'http://b'], input({ flags: { 'plc-url': flags['plc-url'] } })).flags['plc-url'], 'http://b')
    fails([], /^--n takes a whole number, not "x"/, { flags })
  } finally {
    delete process.env.PDSCTL_TEST_PLC
    delete process.env.PDSCTL_TEST_N
  }
})

// Issue 17: `secrets generate -o= next-file` wrote ./next-file (-o= took the next word).
test('-o= is an empty value, as --output= is: the next word stays an argument', () => {
  const flags = { output: Flags.string({ char: 'o' }), yes: Flags.boolean({ char: 'y' }) } as ParseInput['flags']
  for (const argv of [['-o=', 'next-file'], ['--output=', 'next-file'], ['-yo=', 'next-file']]) {
    const r = parseCommandLine(argv, input({ flags, strict: false }))
    assert.equal(r.flags.output, '', argv.join(' '))
    assert.deepEqual(r.argv, ['next-file'], argv.join(' '))
  }
  fails(['-o=', 'next-file'], 'unexpected argument next-file (see pdsctl secrets generate --help)', { id: 'secrets:generate', flags })
  assert.equal(parseCommandLine(['-o=x=y'], input({ flags })).flags.output, 'x=y')
})

test('--no-NAME turns off a boolean that allows it (the last one given wins); aliases answer for their flag', () => {
  const flags = {
    relays: Flags.boolean({ allowNo: true, default: true }),
    pds: Flags.boolean({ allowNo: true }),
    json: Flags.boolean({}),
    kube: Flags.string({ aliases: ['kubernetes'], charAliases: ['k'] }),
  } as ParseInput['flags']
  assert.deepEqual(parseCommandLine(['--no-relays'], input({ flags })).flags, { relays: false })
  assert.deepEqual(parseCommandLine(['--no-pds', '--pds'], input({ flags })).flags, { relays: true, pds: true })
  assert.deepEqual(parseCommandLine(['--pds', '--no-pds'], input({ flags })).flags, { relays: true, pds: false })
  fails(['--no-json'], 'unknown flag --no-json (see pdsctl account list --help)', { flags })
  fails(['--no-pds=1'], '--no-pds takes no value (give --no-pds alone) (see pdsctl account list --help)', { flags })
  assert.equal(parseCommandLine(['--kubernetes', 'a'], input({ flags })).flags.kube, 'a')
  assert.equal(parseCommandLine(['-k', 'b'], input({ flags })).flags.kube, 'b')
  fails(['--kube', '--no-pds'], '--kube needs a value (see pdsctl account list --help)', { flags })
})

test('a boolean from the environment is on for 1, true, y, yes (as oclif reads it), else off', () => {
  const flags = { quiet: Flags.boolean({ env: 'PDSCTL_TEST_QUIET' }) } as ParseInput['flags']
  try {
    for (const [value, on] of [['1', true], ['YES', true], ['true', true], ['0', false], ['no', false], ['false', false]] as const) {
      process.env.PDSCTL_TEST_QUIET = value
      assert.equal(parseCommandLine([], input({ flags })).flags.quiet, on, value)
    }
  } finally {
    delete process.env.PDSCTL_TEST_QUIET
  }
})
