// `pdsctl stats` on the real test bed, every number checked against what was planted:
// statuses, confirmed (real flow) / unconfirmed / no email, a sign-up spike three days
// ago, invite codes available / used / disabled, newest and oldest.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../bed/pds.js'
import { bedEnv, runCli } from '../helpers/cli.js'
import { backdate, confirmEmail, deactivate, giveCodes, setEmail, signUp, takedown } from '../lib/admin/triageBed.js'
import type { Stats } from '../../src/lib/admin/stats.js'

const DAY = 86_400_000
const day = (ago: number) => new Date(Date.now() - ago * DAY).toISOString().slice(0, 10)

describe('pdsctl stats', () => {
  let bed: TestBed
  let u: SeededAccount[]
  let inv1: SeededAccount
  before(async () => {
    bed = await startTestBed({ inviteRequired: true })
    u = await bed.seed(12, 'user') // each with its own admin code of one use: 12 codes, all used
    const codes = await giveCodes(bed, u[0].did, 3, 2)
    inv1 = await signUp(bed, 'inv1', codes[0]) // one use of two: still available
    await xrpc(bed.url, 'com.atproto.admin.disableInviteCodes', { codes: [codes[1]] }, bed.adminPassword)
    await confirmEmail(bed, u[0])
    await setEmail(bed, u[2].did, '')
    await takedown(bed, u[10].did)
    await deactivate(bed, u[11].did)
    // The spike: six sign-ups three days ago; two five days ago; one 40 days ago.
    for (const i of [1, 2, 3, 4, 5, 6]) await backdate(bed, u[i].did, new Date(Date.now() - 3 * DAY))
    for (const i of [7, 8]) await backdate(bed, u[i].did, new Date(Date.now() - 5 * DAY))
    await backdate(bed, u[9].did, new Date(Date.now() - 40 * DAY))
  })
  after(() => bed?.close())

  test('--json: every count matches what was planted', async () => {
    const res = await runCli(['stats', '--days', '7', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.stderr, '')
    const s = JSON.parse(res.stdout) as Stats
    assert.equal(s.accounts.total, 13)
    assert.deepEqual(Object.entries(s.accounts.byStatus), [['active', 11], ['deactivated', 1], ['takendown', 1]])
    assert.equal(s.accounts.emailConfirmed, 1)
    assert.equal(s.accounts.noEmail, 1)
    assert.equal(s.accounts.emailUnconfirmed, 11)
    assert.equal(s.accounts.newest?.did, inv1.did)
    assert.equal(s.accounts.newest?.handle, inv1.handle)
    assert.equal(s.accounts.oldest?.did, u[9].did)
    assert.equal(s.accounts.oldest?.createdAt.slice(0, 10), day(40))
    assert.deepEqual(s.signupsByDay, [6, 5, 4, 3, 2, 1, 0].map((ago) => ({ date: day(ago), count: ago === 3 ? 6 : ago === 5 ? 2 : ago === 0 ? 4 : 0 })))
    assert.deepEqual(s.invites, { total: 15, available: 2, used: 13, disabled: 1 })
  })

  test('--days defaults to 30 (zero days included, the 40-day-old sign-up outside)', async () => {
    const res = await runCli(['stats', '--json'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as Stats
    assert.equal(s.signupsByDay.length, 30)
    assert.equal(s.signupsByDay[0].date, day(29))
    assert.equal(s.signupsByDay[29].date, day(0))
    assert.equal(s.signupsByDay.reduce((n, d) => n + d.count, 0), 12)
    assert.equal(s.signupsByDay.filter((d) => d.count === 0).length, 27)
  })

  test('a terminal gets the totals and a bar chart where the spike is the longest bar, within the width', async () => {
    const res = await runCli(['stats', '--days', '7'], { env: bedEnv(bed, { PDSCTL_FORCE_TTY: '1' }) })
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^Accounts: +13$/m)
    assert.match(res.stdout, /^By status: +active 11, deactivated 1, takendown 1$/m)
    assert.match(res.stdout, /^Email: +1 confirmed, 11 unconfirmed, 1 none$/m)
    assert.match(res.stdout, /^Invite codes: +15 total, 2 available, 13 used, 1 disabled$/m)
    const bars = res.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l))
    assert.equal(bars.length, 7)
    const blocks = (l: string) => (l.match(/█/g) ?? []).length
    const spike = bars.find((l) => l.startsWith(day(3)))!
    assert.match(spike, / 6$/)
    assert.ok(bars.every((l) => l === spike || blocks(l) < blocks(spike)), bars.join('\n'))
    // Bars are proportional: 4 and 2 sign-ups are about 2/3 and 1/3 of the spike's 6.
    const ratio = (ago: number) => blocks(bars.find((l) => l.startsWith(day(ago)))!) / blocks(spike)
    assert.ok(Math.abs(ratio(0) - 4 / 6) < 0.05 && Math.abs(ratio(5) - 2 / 6) < 0.05, bars.join('\n'))
    assert.equal(blocks(bars.find((l) => l.startsWith(day(1)))!), 0)
    for (const l of bars) assert.ok([...l].length <= 80, `fits 80 columns: ${[...l].length}`)
  })

  test('piped: tab-separated lines', async () => {
    const res = await runCli(['stats', '--days', '7'], { env: bedEnv(bed) })
    assert.equal(res.code, 0, res.stderr)
    const lines = res.stdout.trimEnd().split('\n')
    assert.ok(lines.includes('accounts\ttotal\t13'))
    assert.ok(lines.includes('status\ttakendown\t1'))
    assert.ok(lines.includes('email\tnone\t1'))
    assert.ok(lines.includes(`signups\t${day(3)}\t6`))
    assert.ok(lines.includes(`signups\t${day(1)}\t0`))
    assert.ok(lines.includes('invites\tavailable\t2'))
    assert.ok(lines.some((l) => l.startsWith(`oldest\t${u[9].did}\tuser9.test\t${day(40)}T`)))
    assert.ok(lines.every((l) => l.split('\t').length >= 3 && !l.includes('█')))
  })

  test('--days out of range is bad input, before any request', async () => {
    const res = await runCli(['stats', '--days', '0'], { env: { PDS_URL: 'http://127.0.0.1:9', PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /--days/)
  })

  test('a wrong admin password: exit 3, one line, nothing on stdout', async () => {
    const res = await runCli(['stats'], { env: bedEnv(bed, { PDS_ADMIN_PASSWORD: 'wrong-password-xyz' }) })
    assert.equal(res.code, 3)
    assert.equal(res.stdout, '')
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr)
    assert.match(res.stderr, /^Error: the PDS rejected the admin password/)
    assert.ok(!res.stderr.includes('wrong-password-xyz'))
  })
})
