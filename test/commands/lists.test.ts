// Lists on a fresh PDS say they are empty (stderr, with the next step, exit 0); piped rows
// carry no colour unless FORCE_COLOR asks, and times stay ISO.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { bedEnv, runCli } from '../helpers/cli.js'

describe('lists', () => {
  let bed: TestBed
  before(async () => {
    bed = await startTestBed()
  })
  after(() => bed.close())

  test('empty: account list and invite list say so on stderr with the next step; stdout stays clean; exit 0', async () => {
    const accounts = await runCli(['account', 'list'], { env: bedEnv(bed) })
    assert.equal(accounts.code, 0, accounts.stderr)
    assert.equal(accounts.stdout, '')
    assert.equal(accounts.stderr, 'no accounts on this PDS yet: pdsctl account create --handle HANDLE --email EMAIL\n')
    const json = await runCli(['account', 'list', '--json'], { env: bedEnv(bed) })
    assert.deepEqual(JSON.parse(json.stdout), [])
    const invites = await runCli(['invite', 'list'], { env: bedEnv(bed) })
    assert.equal(invites.code, 0, invites.stderr)
    assert.equal(invites.stdout, '')
    assert.equal(invites.stderr, 'no invite codes yet: pdsctl invite create\n')
    const available = await runCli(['invite', 'list', '--available'], { env: bedEnv(bed) })
    assert.equal(available.stderr, 'no available invite codes: pdsctl invite create\n')
  })

  test('piped: no escape codes without NO_COLOR too; FORCE_COLOR=1 colours the status words; times ISO either way', async () => {
    await bed.seed(2, 'pipe')
    const plain = await runCli(['account', 'list'], { env: bedEnv(bed, { NO_COLOR: undefined }) })
    assert.equal(plain.code, 0, plain.stderr)
    assert.ok(!plain.stdout.includes('\x1b'), JSON.stringify(plain.stdout))
    const rows = plain.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
    assert.equal(rows.length, 2)
    for (const r of rows) {
      assert.equal(r[3], 'active')
      assert.match(r[5], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/)
    }
    const forced = await runCli(['account', 'list'], { env: bedEnv(bed, { NO_COLOR: undefined, FORCE_COLOR: '1' }) })
    assert.equal(forced.code, 0, forced.stderr)
    const fr = forced.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
    assert.equal(fr[0][3], '\x1b[32mactive\x1b[39m')
    assert.match(fr[0][5], /^\d{4}-\d\d-\d\dT/)
  })
})
