import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type SeededAccount, type TestBed } from '../bed/pds.js'
import { bedEnv, runCli } from '../helpers/cli.js'

describe('pdsctl xrpc', () => {
  let bed: TestBed
  let gus: SeededAccount
  before(async () => {
    bed = await startTestBed()
    ;[gus] = await bed.seed(1, 'gus')
  })
  after(() => bed.close())

  test('a query with key=value params and admin auth', async () => {
    const res = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', `did=${gus.did}`], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(JSON.parse(res.stdout).email, gus.email)
  })

  test('a procedure (found in the lexicons) with a JSON body from stdin; its effect is real', async () => {
    const res = await runCli(['xrpc', 'com.atproto.admin.updateAccountEmail', '--input', '-'], {
      env: bedEnv(bed),
      stdin: JSON.stringify({ account: gus.did, email: 'gus-new@example.com' }),
    })
    assert.equal(res.code, 0, res.stderr)
    const after = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', `did=${gus.did}`], { env: bedEnv(bed) })
    assert.equal(JSON.parse(after.stdout).email, 'gus-new@example.com')
    // key=value pairs become the JSON body of a procedure
    const kv = await runCli(['xrpc', 'com.atproto.server.createInviteCode', 'useCount=2'], { env: bedEnv(bed) })
    assert.equal(kv.code, 0, kv.stderr)
    assert.match(JSON.parse(kv.stdout).code, /\S/)
  })

  test('--no-auth sends no credential; errors carry the XRPC name and message', async () => {
    const res = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', `did=${gus.did}`, '--no-auth'], { env: bedEnv(bed) })
    assert.equal(res.code, 3, res.stderr)
    assert.match(res.stderr, /^Error: com\.atproto\.admin\.getAccountInfo failed \((AuthMissing|AuthenticationRequired)/)
    const bad = await runCli(['xrpc', 'not an nsid'], { env: bedEnv(bed) })
    assert.equal(bad.code, 2)
    const pair = await runCli(['xrpc', 'com.atproto.admin.getAccountInfo', 'noequals'], { env: bedEnv(bed) })
    assert.equal(pair.code, 2)
  })
})

describe('pdsctl xrpc, start-up and exit', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-xrpc-'))
    // Records every module the process loads.
    writeFileSync(
      path.join(dir, 'record.mjs'),
      `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
const seen = new Set()
registerHooks({ load(url, ctx, next) { seen.add(url); return next(url, ctx) } })
process.on('exit', () => appendFileSync(process.env.RECORD_TO, [...seen].join('\\n') + '\\n'))
`,
    )
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  // Issue 17: xrpc ended up to 1.2 s after a signal on a busy machine (1 s promised). It
  // imported @atproto/api to choose GET or POST: ~1,000 modules, each of which Node's compile
  // cache wrote to disk as the process exited (a cold cache: a first run, or a new version),
  // Ctrl-C included. The kinds now come from a generated table.
  test('xrpc loads no @atproto/api module, and leaves the compile cache only its own files to write at exit', async () => {
    const record = path.join(dir, 'loaded.txt')
    const cache = path.join(dir, 'cache')
    const res = await runCli(['xrpc', 'com.atproto.admin.updateAccountEmail', 'account=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', 'email=a@example.com', '--url', 'http://127.0.0.1:9'], {
      env: { PDS_ADMIN_PASSWORD: 'x', NODE_OPTIONS: `--import ${path.join(dir, 'record.mjs')}`, RECORD_TO: record, XDG_CACHE_HOME: cache },
    })
    // The lexicon said procedure (a POST), and the request was tried.
    assert.equal(res.code, 1, res.stderr)
    assert.match(res.stderr, /^Error: cannot connect to the PDS at http:\/\/127\.0\.0\.1:9/)
    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean)
    assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/@atproto/api/')), [])
    const entries = readdirSync(path.join(cache, 'pdsctl', 'compile-cache'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    assert.ok(entries.length <= 20, `${entries.length} compiled files written to the compile cache at exit`)
  })
})
