// `account migrate` killed (SIGKILL: no clean-up, no state saved on the way out) at every
// step: before a step's first change reaches a PDS, after a PDS made the change but before
// pdsctl heard of it, and in the middle of a repository or blob body. Gates in front of
// both real PDSes hold the exchange; then the same command is run again, and it must
// complete and verify, with the result checked on both PDSes and the PLC directory.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startGate, type Gate, type HoldPoint } from '../../bed/gate.js'
import { startTwoPdses, type TwoPdses } from '../../bed/twoPds.js'
import { tableChooser } from '../../helpers/tablePart.js'
import type { MigrationReport } from '../../../src/lib/migrate/report.js'
import { finish, json, migrate, migrationHome, observe, plcDoc, plcMails, plcToken, publicUrl, seedMigrant, startMigrate } from './migrateSupport.js'

interface Point {
  /** The step it interrupts, for the test name. */
  step: string
  side: 'old' | 'new'
  nsid: string
  when: HoldPoint
  nth?: number
  /** Held in the run with the PLC token (after a first run that stopped waiting for it). */
  withToken?: boolean
}

const POINTS: Point[] = [
  { step: 'account', side: 'new', nsid: 'com.atproto.server.createAccount', when: 'before' },
  { step: 'account', side: 'new', nsid: 'com.atproto.server.createAccount', when: 'after' },
  { step: 'repo', side: 'old', nsid: 'com.atproto.sync.getRepo', when: 'mid-body' },
  { step: 'repo', side: 'new', nsid: 'com.atproto.repo.importRepo', when: 'after' },
  { step: 'blobs', side: 'old', nsid: 'com.atproto.sync.getBlob', when: 'mid-body', nth: 2 },
  { step: 'blobs', side: 'new', nsid: 'com.atproto.repo.uploadBlob', when: 'after', nth: 2 },
  { step: 'preferences', side: 'new', nsid: 'app.bsky.actor.putPreferences', when: 'before' },
  { step: 'identity', side: 'old', nsid: 'com.atproto.identity.requestPlcOperationSignature', when: 'after' },
  { step: 'identity', side: 'old', nsid: 'com.atproto.identity.signPlcOperation', when: 'after', withToken: true },
  { step: 'identity', side: 'new', nsid: 'com.atproto.identity.submitPlcOperation', when: 'before', withToken: true },
  { step: 'identity', side: 'new', nsid: 'com.atproto.identity.submitPlcOperation', when: 'after', withToken: true },
  { step: 'activate', side: 'new', nsid: 'com.atproto.server.activateAccount', when: 'after', withToken: true },
  { step: 'deactivate', side: 'old', nsid: 'com.atproto.server.deactivateAccount', when: 'before', withToken: true },
  { step: 'deactivate', side: 'old', nsid: 'com.atproto.server.deactivateAccount', when: 'after', withToken: true },
]

describe('pdsctl account migrate: killed at every step, then run again', () => {
  let pair: TwoPdses
  let gates: { old: Gate; new: Gate }
  before(async () => {
    pair = await startTwoPdses()
    gates = { old: await startGate(pair.old.url), new: await startGate(pair.new.url) }
  })
  after(async () => {
    await gates.old.close()
    await gates.new.close()
    await pair.close()
  })

  let n = 0
  // CI splits the kill points among its Nodes (test/helpers/tablePart.ts).
  const chooser = tableChooser()
  for (const point of POINTS) {
    if (!chooser.take()) continue
    test(`${point.step}: killed ${point.when} ${point.nsid}${point.nth ? ` (#${point.nth})` : ''}`, async () => {
      const account = await seedMigrant(pair.old, `cut${n++}`, { posts: 5, sizes: [1_000, 200_000, 700_000] })
      const newPassword = `new-pass-${n}-abcdef`
      const run = { direction: 'in' as const, home: migrationHome(), oldUrl: gates.old.url, newUrl: gates.new.url }
      const args = ['--password-stdin', '--new-password-stdin', '--yes']
      const stdin = `${account.password}\n${newPassword}\n`
      let token: string[] = []
      if (point.withToken) {
        const first = await migrate(pair, account.did, run, [...args, '--json'], { stdin })
        assert.equal(json<MigrationReport>(first).status, 'waiting-for-token', first.stderr)
        token = ['--token', await plcToken(pair, account.email)]
      }
      const docBefore = await plcDoc(pair, account.did)

      const held = gates[point.side].hold(point.nsid, point.when, point.nth)
      const child = startMigrate(pair, account.did, run, [...args, ...token], { stdin })
      await Promise.race([
        held,
        child.done.then((r) => {
          throw new Error(`pdsctl ended before ${point.nsid} was held (exit ${r.code}):\n${r.stderr}`)
        }),
      ])
      const killed = await child.kill()
      gates[point.side].clear()
      assert.equal(killed.signal, 'SIGKILL')

      // Where it was killed, --status reads where things stand (no password).
      const status = await migrate(pair, account.did, run, ['--status', '--json'])
      assert.equal(status.code, 0, status.stderr)
      const st = json<MigrationReport>(status)
      if (point.step === 'account' && point.when === 'before') assert.equal(st.active.new, null, 'no account on the new PDS yet')
      if (point.nsid.endsWith('submitPlcOperation') && point.when === 'after') assert.equal(st.identity.pointsAt, 'new')
      if (point.step === 'identity' && point.when === 'before') assert.deepEqual(await plcDoc(pair, account.did), docBefore)
      if (point.step === 'deactivate' && point.when === 'before') assert.deepEqual(st.active, { old: true, new: true })

      if (point.nsid.endsWith('signPlcOperation')) {
        // The old PDS signed and spent the token; pdsctl died before saving the operation.
        // The DID document has not moved, and the spent token is refused (exit 3) with the way on.
        assert.deepEqual(await plcDoc(pair, account.did), docBefore)
        const spent = await migrate(pair, account.did, run, [...args, ...token, '--json'], { stdin })
        assert.equal(spent.code, 3, spent.stderr)
        assert.match(spent.stderr, /rejected the PLC token .*run the same command without --token/)
        assert.equal((await plcDoc(pair, account.did)).service[0].serviceEndpoint, docBefore.service[0].serviceEndpoint)
        // Without --token: a new token is mailed at once.
        const mails = plcMails(pair, account.email)
        const again = await migrate(pair, account.did, run, [...args, '--json'], { stdin })
        assert.equal(json<MigrationReport>(again).status, 'waiting-for-token', again.stderr)
        assert.equal(plcMails(pair, account.email), mails + 1)
      }

      // Run again (as often as a script would: once more with the token when it waits for one).
      const results = await finish(pair, account, run, args, stdin)
      const last = results.at(-1)!
      assert.equal(last.code, 0, results.map((r) => r.stderr).join('\n---\n'))
      const report = json<MigrationReport>(last)
      assert.equal(report.status, 'done', last.stderr)
      assert.ok(report.steps.every((s) => s.state === 'done'))

      const o = await observe(pair, account.did, { oldPassword: account.password, newPassword })
      assert.equal(o.doc.service[0].serviceEndpoint, publicUrl(pair.new))
      assert.deepEqual(o.oldStatus, { did: account.did, active: false, status: 'deactivated' })
      assert.equal(o.newStatus.active, true)
      assert.equal(o.newCheck.repoCommit, o.oldCheck.repoCommit)
      assert.equal(o.newCheck.indexedRecords, account.records)
      assert.equal(o.newCheck.importedBlobs, account.blobs.length)
      assert.deepEqual(o.missing.blobs, [])
      assert.deepEqual(o.newPrefs, o.oldPrefs)
    })
  }
})
