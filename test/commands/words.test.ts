// pdsctl's own words, not oclif's: parse errors with the fix, did-you-mean for commands and
// flags (piped too, exit 2), help with the command's own USAGE and examples that keep `$`.
// None of these needs a PDS: the URL points at a closed port, so a network call would fail
// differently (exit 1) than the usage error expected (exit 2).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT, cliNodeVersion, runCli } from '../helpers/cli.js'

const DOWN = { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' }
const OCLIF_WORDS = /The following errors? occurred|Missing \d+ required arg|Nonexistent flag|See more help with|›/

describe('parse errors in our words', () => {
  const cases: Array<[string[], string]> = [
    [['account', 'info'], 'Error: missing ACCOUNT (the account: handle or DID). Fix: pdsctl account info ACCOUNT\n'],
    [['blob', 'takedown'], 'Error: missing ACCOUNT (the account: handle or DID) and CID (the blob CID). Fix: pdsctl blob takedown ACCOUNT CID\n'],
    [['account', 'list', '--jsn'], 'Error: unknown flag --jsn; did you mean --json? (see pdsctl account list --help)\n'],
    [['invite', 'create', '--cuont', '3'], 'Error: unknown flag --cuont; did you mean --count? (see pdsctl invite create --help)\n'],
    [['account', 'list', '--zzzzzz'], 'Error: unknown flag --zzzzzz (see pdsctl account list --help)\n'],
    [['invite', 'list', '--available', '--used'], 'Error: --available and --used cannot be used together (see pdsctl invite list --help)\n'],
    [['account', 'info', 'a.test', 'b.test'], 'Error: unexpected argument b.test (see pdsctl account info --help)\n'],
  ]
  for (const [args, stderr] of cases) {
    test(`pdsctl ${args.join(' ')}`, async () => {
      const res = await runCli(args, { env: DOWN })
      assert.equal(res.code, 2)
      assert.equal(res.stderr, stderr)
      assert.equal(res.stdout, '')
    })
  }

  test('under --json the same line is the JSON error', async () => {
    const res = await runCli(['account', 'info', '--json'], { env: DOWN })
    assert.equal(res.code, 2)
    assert.deepEqual(JSON.parse(res.stdout), {
      error: { name: 'UsageError', message: 'missing ACCOUNT (the account: handle or DID). Fix: pdsctl account info ACCOUNT', exitCode: 2 },
    })
  })

  test('no command leaks oclif wording for a missing argument', async () => {
    for (const args of [['email', 'status'], ['record', 'takedown'], ['relay', 'status', '--jsno'], ['context', 'use']]) {
      const res = await runCli(args, { env: DOWN })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.doesNotMatch(res.stderr, OCLIF_WORDS)
      assert.equal(res.stderr.split('\n').filter(Boolean).length, 1, res.stderr)
    }
  })
})

describe('did-you-mean for commands, piped', () => {
  test('a typo: the suggestion on stderr, arguments kept, exit 2, no prompt', async () => {
    const res = await runCli(['acount', 'info', 'alice.test'], { env: DOWN })
    assert.equal(res.code, 2)
    assert.equal(res.stderr, 'Error: "acount info alice.test" is not a pdsctl command. Did you mean: pdsctl account info alice.test?\n')
    assert.equal(res.stdout, '')
  })

  test('a typo in the verb', async () => {
    const res = await runCli(['invite', 'lsit'], { env: DOWN })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /Did you mean: pdsctl invite list\?/)
  })

  test('help for a mistyped command: the same line, exit 2', async () => {
    const res = await runCli(['help', 'acount', 'list'], { env: DOWN })
    assert.equal(res.code, 2)
    assert.equal(res.stderr, 'Error: "acount list" is not a pdsctl command. Did you mean: pdsctl account list?\n')
  })

  test('nothing close: pointed at help', async () => {
    const res = await runCli(['xyzzyplugh'], { env: DOWN })
    assert.equal(res.code, 2)
    assert.equal(res.stderr, 'Error: "xyzzyplugh" is not a pdsctl command. Run pdsctl help for the list\n')
  })

  test('the hidden old name is not suggested; the new one is', async () => {
    const res = await runCli(['kub', 'forward'], { env: DOWN })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /Did you mean: pdsctl (k8s forward|kube forward)\?/)
    assert.doesNotMatch(res.stderr, /kube forward\?/)
  })
})

describe('help', () => {
  test('USAGE: the command\'s own arguments and flags, then [GLOBAL FLAGS]; the shared flags in their own sections', async () => {
    const res = await runCli(['account', 'create', '--help'])
    assert.equal(res.code, 0)
    const usage = /USAGE\n([\s\S]*?)\n\n/.exec(res.stdout)?.[1].replace(/\s+/g, ' ').trim()
    assert.equal(usage, '$ pdsctl account create [EMAIL] [HANDLE] [--handle HANDLE] [--email EMAIL] [--password-stdin] [GLOBAL FLAGS]')
    for (const section of ['FLAGS', 'GLOBAL OUTPUT FLAGS', 'GLOBAL CONNECTION FLAGS', 'GLOBAL KUBERNETES FLAGS']) assert.match(res.stdout, new RegExp(`^${section}$`, 'm'))
    assert.match(res.stdout, /^ {2}--kube-namespace=<value>/m, 'the global flags are still described')
  })

  test('every example keeps its $ prompt, also those that do not start with pdsctl', async () => {
    for (const id of [['k8s', 'forward'], ['account', 'create'], ['invite', 'disable']]) {
      const res = await runCli([...id, '--help'])
      const examples = res.stdout.split('\nEXAMPLES\n')[1]
      assert.ok(examples, res.stdout)
      const lines = examples.split('\n').filter((l) => l.trim())
      assert.ok(lines.length >= 2)
      for (const l of lines) assert.match(l, /^ {2}\$ /, `${id.join(' ')}: ${l}`)
    }
  })

  test('one Kubernetes topic: k8s (forward, manifests); kube is hidden but still works', async () => {
    const root = await runCli(['--help'])
    assert.match(root.stdout, /^ {2}k8s\s+Kubernetes: reach the PDS, manifests, status, upgrade$/m)
    assert.doesNotMatch(root.stdout, /^ {2}kube\s/m)
    const k8s = await runCli(['k8s', '--help'])
    assert.match(k8s.stdout, /k8s forward\s/)
    assert.match(k8s.stdout, /k8s manifests\s/)
    const old = await runCli(['kube', 'forward', '--url', 'http://127.0.0.1:9'])
    assert.equal(old.code, 2, 'the old name runs the same command (which wants --kube-*)')
    assert.equal(old.stderr, 'Error: kube forward needs --kube-service NAME or --kube-pod NAME (and usually --kube-namespace). Or a saved --context with a Kubernetes target\n')
  })
})

describe('pdsctl version (no connection)', () => {
  test('--json: pdsctl, node, platform, arch and nothing about a PDS', async () => {
    const res = await runCli(['version', '--json'])
    assert.equal(res.code, 0, res.stderr)
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    assert.deepEqual(JSON.parse(res.stdout), { pdsctl: pkg.version, node: cliNodeVersion(), platform: process.platform, arch: process.arch })
  })

  test('piped: key<TAB>value lines', async () => {
    const res = await runCli(['version'])
    assert.equal(res.stdout, `pdsctl\t${JSON.parse((await runCli(['version', '--json'])).stdout).pdsctl}\nnode\t${cliNodeVersion()}\nplatform\t${process.platform}-${process.arch}\n`)
  })

  test('a PDS that does not answer: exit 1', async () => {
    const res = await runCli(['version', '--url', 'http://127.0.0.1:9'])
    assert.equal(res.code, 1)
    assert.equal(res.stderr.split('\n').filter(Boolean).length, 1, res.stderr)
  })
})

describe('context list with none saved', () => {
  test('says so on stderr with the next step; exit 0; stdout stays clean', async () => {
    const res = await runCli(['context', 'list'])
    assert.equal(res.code, 0)
    assert.equal(res.stdout, '')
    assert.equal(res.stderr, 'no contexts yet: pdsctl context add NAME --url https://pds.example.com (or --kube-namespace NS --kube-service NAME)\n')
    const json = await runCli(['context', 'list', '--json'])
    assert.equal(json.code, 0)
    assert.deepEqual(JSON.parse(json.stdout), [])
  })
})
