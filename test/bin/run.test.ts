// bin/run.js, the published entry: `--version` and every command without loading oclif
// (src/base/command.ts, parse.ts), and the other paths (help, topics, unknown commands,
// autocomplete) as oclif's own execute() answers them.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { cliNodeVersion, runCli, ROOT } from '../helpers/cli.js'

describe('bin/run.js', () => {
  let dir: string
  let preload: string
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-entry-'))
    preload = path.join(dir, 'record.mjs')
    // Records every module the process loads (CommonJS and ESM, builtins included).
    writeFileSync(
      preload,
      `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
const seen = new Set()
registerHooks({ load(url, ctx, next) { seen.add(url); return next(url, ctx) } })
process.on('exit', () => appendFileSync(process.env.RECORD_TO, [...seen].join('\\n') + '\\n'))
`,
    )
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const traced = async (args: string[], env: Record<string, string> = {}) => {
    const file = path.join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`)
    const res = await runCli(args, { env: { NODE_OPTIONS: `--import ${preload}`, RECORD_TO: file, ...env } })
    return { ...res, loaded: readFileSync(file, 'utf8').split('\n').filter(Boolean) }
  }

  test('--version: the same line as oclif prints, without loading oclif', async () => {
    const { Config } = await import('@oclif/core')
    // oclif's userAgent ends with the Node it runs on: pdsctl's may be another (PDSCTL_NODE).
    const expected = (await Config.load(ROOT)).userAgent.replace(/ node-v[\d.]+$/, ` node-v${cliNodeVersion()}`)
    const res = await traced(['--version'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.stdout, expected + '\n')
    assert.deepEqual(res.loaded.filter((u) => u.includes('@oclif')), [])
  })

  test('a command runs without loading oclif at all, nor node:http2', async () => {
    const res = await traced(['health', '--url', 'http://127.0.0.1:9'])
    assert.equal(res.code, 6, res.stderr)
    assert.match(res.stderr, /^Error: the PDS at http:\/\/127\.0\.0\.1:9 is not healthy: cannot connect/)
    assert.ok(res.loaded.some((u) => u.includes('/dist/run/health/main.js')), 'the command itself was loaded, as its bundled file')
    const unwanted = res.loaded.filter((u) => /@oclif\/|node:http2|undici\/lib\/dispatcher\/client-h2/.test(u))
    assert.deepEqual(unwanted, [])
  })

  test('a command that checks a DID loads no @atproto/syntax file: the validators are in its bundle', async () => {
    const res = await traced(['account', 'takedown', 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', '--url', 'http://127.0.0.1:9', '--dry-run'], { PDS_ADMIN_PASSWORD: 'x' })
    // The DID passed the check and the request was tried.
    assert.equal(res.code, 1, res.stderr)
    assert.match(res.stderr, /^Error: cannot connect to the PDS at http:\/\/127\.0\.0\.1:9/)
    assert.ok(res.loaded.some((u) => u.includes('/dist/run/account/takedown/')), 'the bundled command ran')
    assert.deepEqual(res.loaded.filter((u) => u.includes('/node_modules/@atproto/syntax/')), [])
    const bad = await runCli(['account', 'takedown', 'did:plc:not-valid!', '--url', 'http://127.0.0.1:9', '--dry-run'], { env: { PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /did:plc:not-valid!/)
  })

  test("V8's compiled code is kept in the user's cache directory (not /tmp), and Node's switch turns it off", async () => {
    const cache = path.join(dir, 'cache')
    const args = ['health', '--url', 'http://127.0.0.1:9', '--json']
    const first = await runCli(args, { env: { XDG_CACHE_HOME: cache } })
    assert.equal(first.code, 6, first.stderr)
    const kept = path.join(cache, 'pdsctl', 'compile-cache')
    const versions = readdirSync(kept)
    assert.equal(versions.length, 1)
    assert.ok(versions[0].startsWith(`v${cliNodeVersion()}`), versions[0])
    assert.ok(readdirSync(path.join(kept, versions[0])).length >= 2, 'bin/run.js and the command bundle are cached')
    // The second run reads it and behaves the same.
    const second = await runCli(args, { env: { XDG_CACHE_HOME: cache } })
    assert.deepEqual({ code: second.code, stdout: second.stdout, stderr: second.stderr }, { code: first.code, stdout: first.stdout, stderr: first.stderr })
    const off = path.join(dir, 'cache-off')
    await runCli(args, { env: { XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' } })
    assert.equal(existsSync(off), false)
  })

  test('the longest command wins: `backup verify DIR` is backup:verify, though `backup DIR` takes an argument', async () => {
    const missing = path.join(dir, 'no-backup-here')
    const res = await runCli(['backup', 'verify', missing, '--json'])
    assert.equal(res.code, 6, res.stderr)
    assert.match(res.stdout, /manifest\.json/)
    assert.doesNotMatch(res.stderr, /unknown flag|Backing up/)
  })

  test('leading connection flags still work (hoisted after the command)', async () => {
    const res = await runCli(['--url', 'http://127.0.0.1:9', 'health', '--json'])
    assert.equal(res.code, 6, res.stderr)
    assert.equal(JSON.parse(res.stdout).healthy, false)
  })

  // Issue 17, the command line's edges.
  test('a shared flag that takes a value may come before the command (--max-response-mb was missed by a hand-kept list)', async () => {
    const res = await runCli(['--max-response-mb', '5', 'health', '--url', 'http://127.0.0.1:9', '--json'])
    assert.equal(res.code, 6, res.stderr)
    assert.equal(JSON.parse(res.stdout).healthy, false)
  })

  test('leading flags go before any --: `--json request-crawl … -- URL` tries only URL and prints JSON', async () => {
    const res = await runCli(['--json', 'request-crawl', '--hostname', 'pds.example.com', '--attempts', '1', '--', 'http://127.0.0.1:9'])
    assert.equal(res.code, 1, res.stderr)
    assert.doesNotMatch(res.stdout + res.stderr, /--json/)
    assert.deepEqual(JSON.parse(res.stdout).map((r: { relay: string }) => r.relay), ['http://127.0.0.1:9'])
  })

  test('-o= is an empty value, as --output= is: `secrets generate -o= next-file` writes no file', async () => {
    const cwd = mkdtempSync(path.join(dir, 'cwd-'))
    const res = await runCli(['secrets', 'generate', '-o=', 'next-file'], { cwd })
    assert.equal(res.code, 2, res.stderr)
    assert.equal(res.stderr, 'Error: unexpected argument next-file (see pdsctl secrets generate --help)\n')
    assert.deepEqual(readdirSync(cwd), [])
  })

  test('-h is help wherever --help is: the CLI, a topic, a command, a command under a topic of two words', async () => {
    for (const words of [[], ['account'], ['account', 'invites'], ['secrets', 'generate'], ['account', 'invites', 'enable'], ['backup']]) {
      const long = await runCli([...words, '--help'])
      const short = await runCli([...words, '-h'])
      assert.equal(short.code, 0, `${words.join(' ')} -h: ${short.stderr}`)
      assert.match(short.stdout, /USAGE/, words.join(' '))
      assert.equal(short.stdout, long.stdout, words.join(' '))
    }
    // After --, -h is an argument like any other.
    const res = await runCli(['xrpc', 'com.atproto.server.describeServer', '--url', 'http://127.0.0.1:9', '--', '-h'])
    assert.equal(res.code, 2, res.stderr)
    assert.match(res.stderr, /^Error: "-h" is not key=value/)
  })

  test('flags between the words of a command: exit 2 naming the command meant, not the topic help', async () => {
    const res = await runCli(['account', '--json', 'list'])
    assert.equal(res.code, 2, res.stderr)
    assert.equal(res.stderr, 'Error: "account --json list": flags go after the command\'s words. Did you mean: pdsctl account list --json?\n')
    assert.equal(JSON.parse(res.stdout).error.exitCode, 2)
    const deeper = await runCli(['backup', '--json', 'verify', path.join(dir, 'nothing')])
    assert.equal(deeper.code, 2, deeper.stderr)
    assert.match(deeper.stderr, /Did you mean: pdsctl backup verify \S+ --json\?/)
    // A topic alone with a flag is still its help.
    const topic = await runCli(['account', '--json'])
    assert.equal(topic.code, 0, topic.stderr)
  })

  test('help: no arguments, --help, a topic, a command --help', async () => {
    for (const args of [[], ['--help'], ['account'], ['account', 'list', '--help'], ['account', 'invites', 'enable', '--help']]) {
      const res = await runCli(args)
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
      assert.match(res.stdout, /USAGE/, args.join(' '))
    }
  })

  test('an unknown command goes to oclif and its command_not_found hook: did-you-mean, exit 2', async () => {
    const res = await runCli(['acount', 'list'])
    assert.equal(res.code, 2, res.stderr)
    assert.equal(res.stderr, 'Error: "acount list" is not a pdsctl command. Did you mean: pdsctl account list?\n')
  })

  test('parse errors and missing arguments: exit 2, one line', async () => {
    for (const args of [['account', 'list', '--bogus'], ['account', 'info']]) {
      const res = await runCli(args)
      assert.equal(res.code, 2, res.stderr)
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr)
    }
  })

  test('a plugin command (autocomplete) runs', async () => {
    const res = await runCli(['autocomplete', 'bash'])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout + res.stderr, /pdsctl/)
  })
})
