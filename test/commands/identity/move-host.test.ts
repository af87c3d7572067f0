// identity move-host, both PDS lines: a PDS started as pds-a.test and restarted as
// pds-b.test on the same data and PLC directory; every account's identity moved with the
// PDS's rotation key, verified in the PLC log and by the PDS resolving the new handles; a run
// cut short (the PDS and the directory failing for one account each) continued by a rerun.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Secp256k1Keypair } from '@atproto/crypto'
import { startTestBed, type PdsLine, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { startLyingServer } from '../../bed/lying.js'
import { runCli } from '../../helpers/cli.js'
import { envFileFor, plcAuditLog, plcData, plcUpdate } from './helpers.js'
import type { MoveResult, MoveSummary } from '../../../src/lib/identity/moveHost.js'
import type { MoveCheck } from '../../../src/commands/identity/move-host.js'

interface MoveJson {
  from: string
  to: string
  dryRun: boolean
  accounts: MoveResult[]
  summary: MoveSummary
  check: MoveCheck | null
}

const FROM = 'https://pds-a.test'
const TO = 'https://pds-b.test'

for (const line of ['0.5', '0.4'] as PdsLine[]) {
  describe(`identity move-host, PDS ${line}.x`, () => {
    let bed: TestBed
    let movers: SeededAccount[]
    let locked: SeededAccount
    let away: SeededAccount
    let envFile: string
    const move = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
      runCli(['identity', 'move-host', '--from', FROM, '--to', TO, ...args], { env: { PDS_URL: bed.url, PDS_ENV_FILE: envFile, ...env }, stdin, timeoutMs: 170_000 })
    const byDid = (out: MoveJson) => new Map(out.accounts.map((a) => [a.did, a]))
    const resolve = async (handle: string) =>
      ((await fetch(`${bed.url}/xrpc/com.atproto.identity.resolveHandle?handle=${handle}`).then((r) => r.json())) as { did?: string }).did

    before(async () => {
      bed = await startTestBed({ line, hostname: 'pds-a.test' })
      assert.equal(bed.publicUrl, FROM)
      movers = await bed.seed(4, 'mover')
      ;[locked, away] = await bed.seed(2, 'other')
      envFile = envFileFor(bed)
      // The user took the PDS's key out of one identity; another moved to a third host.
      await plcUpdate(bed, locked.did, (d) => ({ ...d, rotationKeys: [bed.recoveryDidKey] }))
      const userKey = await Secp256k1Keypair.create()
      await plcUpdate(bed, away.did, (d) => ({ ...d, rotationKeys: [userKey.did(), ...d.rotationKeys], services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: 'https://third.example' } } }))
    })
    after(() => bed?.close())

    test('before the PDS runs under the new hostname: refused, nothing signed', async () => {
      const res = await move(['--dry-run'])
      assert.equal(res.code, 2, res.stderr)
      assert.match(res.stderr, /the PDS still serves handles under \.pds-a\.test and not under \.pds-b\.test: it has not been restarted under pds-b\.test\. Set PDS_HOSTNAME=pds-b\.test/)
    })

    test('--dry-run prints every operation and changes nothing; the locked account is listed', async () => {
      await bed.restart({ hostname: 'pds-b.test' })
      assert.equal(bed.publicUrl, TO)
      const logs = await Promise.all([...movers, locked, away].map((a) => plcAuditLog(bed, a.did)))
      const res = await move(['--dry-run', '--json'])
      assert.equal(res.code, 5, res.stderr)
      const out = JSON.parse(res.stdout) as MoveJson
      assert.equal(out.dryRun, true)
      const rows = byDid(out)
      for (const m of movers) {
        const r = rows.get(m.did)!
        assert.equal(r.action, 'move')
        assert.equal(r.plc, 'planned')
        assert.equal(r.handleUpdate, 'planned')
        assert.equal(r.newHandle, m.handle.replace('.pds-a.test', '.pds-b.test'))
        assert.deepEqual(r.operation?.services.atproto_pds, { type: 'AtprotoPersonalDataServer', endpoint: TO })
        assert.equal(r.operation?.alsoKnownAs[0], `at://${r.newHandle}`)
        assert.equal(r.operation?.prev, logs[movers.indexOf(m)].at(-1)!.cid)
        assert.deepEqual(r.changes.map((c) => c.field), ['handle', 'endpoint'])
      }
      assert.equal(rows.get(locked.did)!.action, 'no-rotation-key')
      assert.equal(rows.get(locked.did)!.operation, null)
      assert.equal(rows.get(away.did)!.action, 'not-on-old-host')
      assert.equal(out.check, null)
      assert.equal(out.summary.notMoved, 1)
      assert.match(res.stderr, /^Error: 1 account pointing at https:\/\/pds-a\.test was not movable \(no-rotation-key 1\)/m)
      assert.deepEqual(await Promise.all([...movers, locked, away].map((a) => plcAuditLog(bed, a.did))), logs, 'the directory is unchanged')
      // On a terminal the same plan is a table.
      const table = await move(['--dry-run'], { PDSCTL_FORCE_TTY: '1', COLUMNS: '200' })
      assert.match(table.stdout, /HANDLE +DID +ACTION +PLC +HANDLE ON PDS +CHANGES/)
      assert.match(table.stderr, /6 accounts, 4 to move, 0 already moved, 1 not on https:\/\/pds-a\.test, 1 not movable \(dry run: nothing was signed or changed\)/)
    })

    test('without --yes when not on a terminal: exit 2, nothing signed', async () => {
      const res = await move([])
      assert.equal(res.code, 2, res.stderr)
      assert.match(res.stderr, /--yes is required when not running interactively/)
      assert.equal((await plcData(bed, movers[0].did)).services.atproto_pds.endpoint, FROM)
    })

    test('a run cut short, then continued by a rerun: every account moved, verified in the log and on the PDS', async () => {
      const [m0, m1, m2, m3] = movers
      const pds = await startLyingServer({ upstream: bed.url })
      const plc = await startLyingServer({ upstream: bed.plcUrl })
      try {
        // The PDS refuses m1's handle; the directory refuses m2's operation.
        pds.answer('com.atproto.admin.updateAccountHandle', async (req) => {
          const body = JSON.parse(req.body.toString('utf8')) as { did: string; handle: string }
          if (body.did === m1.did) return { status: 500, json: { error: 'InternalServerError', message: 'the disk is full' } }
          const real = await fetch(`${bed.url}/xrpc/com.atproto.admin.updateAccountHandle`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization) }, body: req.body })
          return { status: real.status, body: await real.text(), headers: { 'content-type': real.headers.get('content-type') ?? 'application/json' } }
        })
        plc.answer('*', async (req) => {
          if (req.method === 'POST' && req.path === `/${m2.did}`) return { status: 503, json: { message: 'try later' } }
          const real = await fetch(`${bed.plcUrl}${req.path}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'POST' ? req.body : undefined })
          return { status: real.status, body: Buffer.from(await real.arrayBuffer()), headers: { 'content-type': real.headers.get('content-type') ?? 'text/plain' } }
        })
        const cut = await move(['--yes', '--json', '--plc-url', plc.url], { PDS_URL: pds.url })
        assert.equal(cut.code, 5, cut.stderr)
        const rows = byDid(JSON.parse(cut.stdout) as MoveJson)
        assert.deepEqual([rows.get(m1.did)!.plc, rows.get(m1.did)!.handleUpdate], ['done', 'failed'])
        assert.match(rows.get(m1.did)!.error!, /the PDS did not change the handle to mover1\.pds-b\.test \(InternalServerError: the disk is full\)/)
        assert.deepEqual([rows.get(m2.did)!.plc, rows.get(m2.did)!.handleUpdate], ['failed', 'skipped'])
        for (const m of [m0, m3]) assert.deepEqual([rows.get(m.did)!.plc, rows.get(m.did)!.handleUpdate, rows.get(m.did)!.error], ['done', 'done', null])
        // No credential went to the directory.
        for (const r of plc.requests) assert.equal(r.headers.authorization, undefined)
      } finally {
        await pds.close()
        await plc.close()
      }
      assert.equal(await resolve('mover1.pds-b.test'), undefined, 'm1 is half moved')
      assert.equal((await plcData(bed, m2.did)).services.atproto_pds.endpoint, FROM, 'm2 is not moved')

      // The same command again finishes the rest and skips what is done.
      const rerun = await move(['--yes', '--json'])
      assert.equal(rerun.code, 5, rerun.stderr)
      const out = JSON.parse(rerun.stdout) as MoveJson
      const rows = byDid(out)
      assert.deepEqual([rows.get(m1.did)!.action, rows.get(m1.did)!.plc, rows.get(m1.did)!.handleUpdate], ['handle', 'not-needed', 'done'])
      assert.deepEqual([rows.get(m2.did)!.action, rows.get(m2.did)!.plc, rows.get(m2.did)!.handleUpdate], ['move', 'done', 'done'])
      for (const m of [m0, m3]) assert.equal(rows.get(m.did)!.action, 'already-moved')
      assert.equal(rows.get(locked.did)!.action, 'no-rotation-key')
      assert.deepEqual(out.summary, { accounts: 6, moved: 2, alreadyMoved: 2, notOnOldHost: 1, notMoved: 1, failed: 0, byAction: out.summary.byAction })
      // It ended with the identity check of the accounts it touched: no problem.
      assert.equal(out.check?.summary.checked, 2)
      assert.deepEqual(out.check?.problems, [])

      // Every mover: the directory points at the new host under the new handle, in an
      // operation signed by the PDS's key; the PDS resolves the new handle (also its
      // well-known) and has it as the account's handle.
      for (const m of movers) {
        const handle = m.handle.replace('.pds-a.test', '.pds-b.test')
        const data = await plcData(bed, m.did)
        assert.equal(data.services.atproto_pds.endpoint, TO)
        assert.equal(data.alsoKnownAs[0], `at://${handle}`)
        assert.equal(await resolve(handle), m.did)
        const info = await fetch(`${bed.url}/xrpc/com.atproto.admin.getAccountInfo?did=${m.did}`, { headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') } }).then((r) => r.json() as Promise<{ handle: string }>)
        assert.equal(info.handle, handle)
      }
      const show = await runCli(['identity', 'show', m2.did, '--json', '--public-url', TO], { env: { PDS_URL: bed.url, PDS_ENV_FILE: envFile }, timeoutMs: 120_000 })
      assert.equal(show.code, 0, show.stderr)
      const log = (JSON.parse(show.stdout) as { log: Array<{ changes: Array<{ field: string; from?: string; to?: string }>; signedBy: string }> }).log
      const moved = log.find((e) => e.changes.some((c) => c.field === 'endpoint'))!
      assert.deepEqual(moved.changes, [
        { field: 'handle', from: 'mover2.pds-a.test', to: 'mover2.pds-b.test' },
        { field: 'endpoint', from: FROM, to: TO },
      ])
      assert.equal(moved.signedBy, bed.rotationKeyDid)
      // The account whose rotation keys lack the PDS's was not touched.
      assert.equal((await plcData(bed, locked.did)).services.atproto_pds.endpoint, FROM)

      // Named on stdin (as `identity check --output did` pipes them): all done, exit 0.
      const named = await move(['-', '--yes', '--json'], {}, movers.map((m) => m.did).join('\n') + '\n')
      assert.equal(named.code, 0, named.stderr)
      assert.deepEqual((JSON.parse(named.stdout) as MoveJson).accounts.map((a) => a.action), ['already-moved', 'already-moved', 'already-moved', 'already-moved'])

      // And the whole PDS checks out but for the two accounts that do not point here (one of
      // them without the PDS's rotation key, which is why it could not be moved).
      const check = await runCli(['identity', 'check', '--json', '--public-url', TO], { env: { PDS_URL: bed.url, PDS_ENV_FILE: envFile }, timeoutMs: 120_000 })
      assert.equal(check.code, 6, check.stderr)
      const summary = (JSON.parse(check.stdout) as { summary: { checked: number; problems: Record<string, number> } }).summary
      assert.equal(summary.checked, 6)
      assert.deepEqual(summary.problems, { endpoint: 2, 'rotation-key': 1 })
    })
  })
}
