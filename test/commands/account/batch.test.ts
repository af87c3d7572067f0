// Batched writes (`account <verb> -`) against the real PDS: existence and handle → DID are
// settled in bulk before the writes (one getAccountInfos per 100 accounts, one fallback
// scan for handles the PDS no longer resolves), the writes run 8 in flight, and results
// come out in input order, one per line, failures included.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { bedEnv, runCli } from '../../helpers/cli.js'
import type { AccountActionResult } from '../../../src/lib/admin/accountAdmin.js'
import type { BatchOutput } from '../../../src/base/account-command.js'

/** The most requests of one kind in flight at once, from --debug's → / ← lines. */
function maxInFlight(stderr: string, nsid: string): number {
  let now = 0
  let max = 0
  for (const line of stderr.split('\n')) {
    if (line.includes(`→ POST /xrpc/${nsid}`) || line.includes(`→ GET /xrpc/${nsid}?`)) max = Math.max(max, ++now)
    else if (line.includes(`← `) && line.includes(`/xrpc/${nsid} `)) now--
  }
  return max
}
const count = (stderr: string, re: RegExp) => (stderr.match(re) ?? []).length

describe('account <verb> - (batched)', () => {
  let bed: TestBed
  let seeded: SeededAccount[]
  before(async () => {
    bed = await startTestBed()
    seeded = await bed.seed(230, 'bat')
  })
  after(() => bed.close())

  test('230 accounts: one getAccountInfos per 100, no per-account check, writes 8 in flight, results in input order', async () => {
    // Two accounts taken down and one deactivated first: the PDS no longer resolves their
    // handles, so all three are found by one scan, not one scan each.
    const hidden = seeded.slice(0, 3)
    for (const [i, s] of hidden.entries()) {
      const subject = { $type: 'com.atproto.admin.defs#repoRef', did: s.did }
      await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', i < 2 ? { subject, takedown: { applied: true } } : { subject, deactivated: { applied: true } }, bed.adminPassword)
    }
    const lines = [
      ...hidden.map((s) => s.handle),
      'ghost.test',
      'not a handle!',
      ...seeded.slice(3, 13).map((s) => s.handle),
      ...seeded.slice(13).map((s) => s.did),
    ]
    const res = await runCli(['account', 'untakedown', '-', '--yes', '--json', '--debug'], { env: bedEnv(bed), stdin: lines.join('\n') + '\n', timeoutMs: 120_000 })
    assert.equal(res.code, 5, res.stderr.slice(-2000))
    const out = JSON.parse(res.stdout) as BatchOutput<AccountActionResult>
    assert.deepEqual(out.results.map((r) => r.input), lines, 'results in input order')
    assert.equal(out.ok, lines.length - 2)
    assert.equal(out.failed, 2)
    assert.deepEqual(out.results.filter((r) => !r.ok).map((r) => r.input), ['ghost.test', 'not a handle!'])
    assert.match(out.results[3].error ?? '', /no account with handle ghost\.test/)
    const byInput = new Map(out.results.map((r) => [r.input, r]))
    for (const s of seeded.slice(0, 13)) assert.equal(byInput.get(s.handle)?.result?.did, s.did)
    for (const s of seeded.slice(13)) assert.equal(byInput.get(s.did)?.result?.handle, s.handle)

    const dids = 230 // distinct accounts found
    assert.equal(count(res.stderr, /→ GET \/xrpc\/com\.atproto\.admin\.getAccountInfo\?/g), 0, 'no per-account existence check')
    // ceil(230 / 100) for the batch, plus one for the fallback scan's inactive accounts.
    assert.equal(count(res.stderr, /→ GET \/xrpc\/com\.atproto\.admin\.getAccountInfos\?/g), Math.ceil(dids / 100) + 1)
    // A scan starts with the one listRepos call that has no cursor.
    const scans = res.stderr.split('\n').filter((l) => l.includes('→ GET /xrpc/com.atproto.sync.listRepos') && !l.includes('cursor='))
    assert.equal(scans.length, 1, 'one fallback scan for every unresolved handle')
    assert.equal(count(res.stderr, /→ POST \/xrpc\/com\.atproto\.admin\.updateSubjectStatus/g), dids)
    const width = maxInFlight(res.stderr, 'com.atproto.admin.updateSubjectStatus')
    assert.ok(width > 1 && width <= 8, `writes in flight: ${width}`)
    assert.match(res.stderr, /^230 ok, 2 failed$/m)

    // What the server says afterwards: the two taken down are back.
    for (const s of hidden.slice(0, 2)) {
      const res = await fetch(`${bed.url}/xrpc/com.atproto.admin.getSubjectStatus?did=${encodeURIComponent(s.did)}`, {
        headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
      })
      const status = (await res.json()) as { takedown?: { applied: boolean } }
      assert.equal(status.takedown?.applied ?? false, false, s.handle)
    }
  })

  test('piped: one tab-separated row per line, in input order, streamed', async () => {
    const lines = seeded.slice(20, 40).map((s) => s.did)
    const res = await runCli(['account', 'deactivate', '-', '--yes', '--dry-run'], { env: bedEnv(bed), stdin: lines.join('\n') })
    assert.equal(res.code, 0, res.stderr)
    const rows = res.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
    assert.deepEqual(rows.map((r) => r[0]), lines)
    assert.ok(rows.every((r) => r[1] === 'ok' && r[5] === 'true'), res.stdout)
  })
})
