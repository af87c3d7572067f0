import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { runCli } from '../../helpers/cli.js'
import type { ContextSummary } from '../../../src/lib/cli/contexts.js'

describe('pdsctl context add/list/use/remove and --context', () => {
  let bed: TestBed
  let home: string
  let env: Record<string, string>
  before(async () => {
    bed = await startTestBed()
    await bed.seed(3, 'ctx')
    home = mkdtempSync(path.join(tmpdir(), 'pdsctl-ctx-'))
    env = { XDG_CONFIG_HOME: home }
  })
  after(() => bed.close())
  const file = () => path.join(home, 'pdsctl', 'contexts.json')

  test('add with an env file: no secret stored, file mode 0600, first context becomes current', async () => {
    const envFile = path.join(home, 'pds.env')
    writeFileSync(envFile, `PDS_ADMIN_PASSWORD=${bed.adminPassword}\n`)
    const res = await runCli(['context', 'add', 'local', '--url', bed.url, '--env-file', envFile, '--json'], { env })
    assert.equal(res.code, 0, res.stderr)
    const summary = JSON.parse(res.stdout) as ContextSummary
    assert.deepEqual(summary, { name: 'local', current: true, target: bed.url, adminPassword: 'env-file' })
    assert.equal(statSync(file()).mode & 0o777, 0o600)
    assert.ok(!readFileSync(file(), 'utf8').includes(bed.adminPassword))

    // The current context is used with nothing else configured.
    const list = await runCli(['account', 'list', '--json'], { env })
    assert.equal(list.code, 0, list.stderr)
    assert.equal(JSON.parse(list.stdout).length, 3)
  })

  test('--store-admin-password stores it only when asked (from stdin); --context picks it', async () => {
    const res = await runCli(['context', 'add', 'stored', '--url', bed.url, '--store-admin-password'], { env, stdin: bed.adminPassword })
    assert.equal(res.code, 0, res.stderr)
    assert.ok(!res.stderr.includes(bed.adminPassword))
    assert.ok(readFileSync(file(), 'utf8').includes(bed.adminPassword))
    assert.equal(statSync(file()).mode & 0o777, 0o600)
    const list = await runCli(['account', 'list', '--context', 'stored', '--json'], { env })
    assert.equal(list.code, 0, list.stderr)
    const viaEnv = await runCli(['account', 'list', '--json'], { env: { ...env, PDSCTL_CONTEXT: 'stored' } })
    assert.equal(viaEnv.code, 0, viaEnv.stderr)
  })

  test('precedence: a flag beats the environment, which beats the context', async () => {
    const wrong = await runCli(['account', 'list', '--context', 'stored'], { env: { ...env, PDS_ADMIN_PASSWORD: 'env-wins-and-is-wrong' } })
    assert.equal(wrong.code, 3, 'the environment password beat the stored one')
    const down = await runCli(['health', '--context', 'stored', '--url', 'http://127.0.0.1:9'], { env })
    assert.equal(down.code, 6, 'the --url flag beat the context URL')
  })

  test('list, use, remove (remove needs --yes when not interactive)', async () => {
    const list = await runCli(['context', 'list', '--json'], { env })
    const rows = JSON.parse(list.stdout) as ContextSummary[]
    assert.deepEqual(rows.map((r) => [r.name, r.current, r.adminPassword]), [['local', true, 'env-file'], ['stored', false, 'stored']])
    assert.ok(!list.stdout.includes(bed.adminPassword))

    assert.equal((await runCli(['context', 'use', 'stored'], { env })).code, 0)
    const piped = await runCli(['context', 'list'], { env })
    assert.match(piped.stdout, /^\tlocal\t/m)
    assert.match(piped.stdout, /^\*\tstored\t/m)

    const noYes = await runCli(['context', 'remove', 'stored'], { env })
    assert.equal(noYes.code, 2)
    assert.match(noYes.stderr, /--yes is required/)
    assert.equal((await runCli(['context', 'remove', 'stored', '--yes'], { env })).code, 0)
    assert.ok(!readFileSync(file(), 'utf8').includes(bed.adminPassword), 'the stored password went with it')
    const missing = await runCli(['account', 'list', '--context', 'stored'], { env })
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /no saved context "stored"/)
  })

  test('bad input is rejected: names, URLs, Kubernetes names, duplicates', async () => {
    for (const args of [['bad name!', '--url', bed.url], ['x', '--url', 'http://pds.example.com'], ['x', '--kube-service', 'Bad_Svc'], ['x'], ['local', '--url', bed.url]]) {
      const res = await runCli(['context', 'add', ...args], { env })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    }
  })
})
