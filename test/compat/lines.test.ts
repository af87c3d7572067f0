// The compatibility suite: the same commands against a real PDS of each line operators run,
// @atproto/pds 0.4.x (the official image through 2026; run on Node 22 in a child process)
// and 0.5.x (npm). Nothing here imitates a server: differences are the real servers'.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, xrpc, type PdsLine, type SeededAccount, type TestBed } from '../bed/pds.js'
import { startProxy, type Proxy } from '../bed/proxy.js'
import { bedEnv, runCli } from '../helpers/cli.js'
import type { HealthReport } from '../../src/lib/pds/health.js'
import type { AccountSummary } from '../../src/lib/admin/accounts.js'
import type { CreatedInvite } from '../../src/lib/admin/invites.js'
import type { EmailConfirmResult } from '../../src/commands/email/confirm.js'
import type { DoctorReport } from '../../src/lib/selfhost/doctor.js'

const CODE_RE = /[A-Z0-9]{5}-[A-Z0-9]{5}/
const ACCOUNTS = 120

for (const line of ['0.4', '0.5'] as PdsLine[]) {
  describe(`PDS ${line}.x`, () => {
    let bed: TestBed
    let seeded: SeededAccount[]
    let proxy: Proxy
    let envFile: string
    before(async () => {
      const started = performance.now()
      bed = await startTestBed({ line })
      const up = performance.now()
      seeded = await bed.seed(ACCOUNTS, 'compat')
      console.log(`# PDS ${bed.pdsVersion}: bed up in ${Math.round(up - started)} ms, ${ACCOUNTS} accounts seeded in ${Math.round(performance.now() - up)} ms`)
      proxy = await startProxy(bed.url, { chunkEmptyPosts: true })
      const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-compat-'))
      envFile = path.join(dir, 'pds.env')
      writeFileSync(
        envFile,
        `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_JWT_SECRET=${bed.jwtSecret}\nPDS_EMAIL_SMTP_URL=smtp://127.0.0.1:${bed.mail.port}\nPDS_EMAIL_FROM_ADDRESS=pds@localhost\n`,
      )
    })
    after(async () => {
      await proxy?.close()
      await bed?.close()
    })

    test('the bed runs the line it says', () => {
      assert.ok(bed.pdsVersion.startsWith(`${line}.`), bed.pdsVersion)
    })

    test('health: healthy; the version is what _health reports (0.4 from npm reports none)', async () => {
      const raw = (await fetch(`${bed.url}/xrpc/_health`).then((r) => r.json())) as { version?: string }
      const res = await runCli(['health', '--json', '--url', bed.url])
      assert.equal(res.code, 0, res.stderr)
      const report = JSON.parse(res.stdout) as HealthReport
      assert.equal(report.healthy, true)
      assert.deepEqual(report.problems, [])
      assert.equal(report.version, raw.version ?? null)
      if (line === '0.4') assert.deepEqual(raw, {})
      else assert.equal(report.version, bed.pdsVersion)
      assert.equal(report.server?.did, 'did:web:localhost')
      const piped = await runCli(['health', '--url', bed.url])
      assert.match(piped.stdout, line === '0.4' ? /^version\tnot reported$/m : new RegExp(`^version\\t${bed.pdsVersion.replace(/\./g, '\\.')}$`, 'm'))
    })

    test(`account list: all ${ACCOUNTS} accounts (past pdsadmin's 100), also across pages of 50`, async () => {
      for (const extra of [[], ['--page-size', '50']]) {
        const res = await runCli(['account', 'list', '--json', ...extra], { env: bedEnv(bed) })
        assert.equal(res.code, 0, res.stderr)
        const rows = JSON.parse(res.stdout) as AccountSummary[]
        assert.equal(rows.length, ACCOUNTS, extra.join(' '))
        assert.equal(new Set(rows.map((r) => r.did)).size, ACCOUNTS)
        const byDid = new Map(rows.map((r) => [r.did, r]))
        for (const s of seeded) {
          const row = byDid.get(s.did)
          assert.ok(row, `missing ${s.handle}`)
          assert.equal(row.handle, s.handle)
          assert.equal(row.email, s.email)
          assert.equal(row.status, 'active')
        }
      }
    })

    test('invite create: the codes exist on the PDS with the uses asked for', async () => {
      const res = await runCli(['invite', 'create', '--count', '2', '--uses', '3', '--json'], { env: bedEnv(bed) })
      assert.equal(res.code, 0, res.stderr)
      const invites = JSON.parse(res.stdout) as CreatedInvite[]
      assert.equal(invites.length, 2)
      const listed = (await fetch(`${bed.url}/xrpc/com.atproto.admin.getInviteCodes?limit=100`, {
        headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
      }).then((r) => r.json())) as { codes: Array<{ code: string; available: number }> }
      for (const inv of invites) {
        assert.equal(inv.uses, 3)
        assert.equal(listed.codes.find((c) => c.code === inv.code)?.available, 3, inv.code)
      }
    })

    test('email confirm: the PDS mails a code (caught), the code confirms the address', async () => {
      const who = seeded[3]
      const since = bed.mail.messages.length
      const first = await runCli(['email', 'confirm', who.handle, '--password-stdin', '--json'], { env: { PDS_URL: bed.url }, stdin: who.password + '\n' })
      assert.equal(first.code, 0, first.stderr)
      assert.equal((JSON.parse(first.stdout) as EmailConfirmResult).status, 'sent')
      const mail = await bed.mail.waitFor(who.email, { since })
      const code = CODE_RE.exec(mail.text)?.[0]
      assert.ok(code, `a code in the mail: ${mail.text.slice(0, 200)}`)
      const second = await runCli(['email', 'confirm', who.handle, '--password-stdin', '--token', code, '--json'], { env: { PDS_URL: bed.url }, stdin: who.password })
      assert.equal(second.code, 0, second.stderr)
      assert.equal((JSON.parse(second.stdout) as EmailConfirmResult).status, 'confirmed')
      const info = await fetch(`${bed.url}/xrpc/com.atproto.admin.getAccountInfo?did=${who.did}`, {
        headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
      }).then((r) => r.json() as Promise<{ emailConfirmedAt?: string }>)
      assert.ok(info.emailConfirmedAt, 'the PDS has the address confirmed')
    })

    test('doctor: body-less POSTs pass straight to the PDS; the probe changes nothing', async () => {
      // A live session before the probe: deleteSession must not touch it.
      const session = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: seeded[5].handle, password: seeded[5].password })
      const res = await runCli(['doctor', '--url', bed.url, '--env-file', envFile, '--no-relays', '--json'])
      assert.equal(res.code, 0, res.stdout + res.stderr)
      const check = (JSON.parse(res.stdout) as DoctorReport).checks.find((c) => c.id === 'bodyless-post')!
      assert.equal(check.status, 'pass', check.message)
      assert.match(check.message, /nothing changed/)
      assert.ok(!res.stdout.includes(bed.jwtSecret) && !res.stderr.includes(bed.jwtSecret))
      // The firehose check: a no-change updateSubjectStatus is restated as an #account event on both lines.
      const firehose = (JSON.parse(res.stdout) as DoctorReport).checks.find((c) => c.id === 'firehose-event')!
      assert.ok(firehose.status === 'pass' || firehose.status === 'warn', firehose.message) // warn: slower than 5 s (a loaded machine)
      assert.match(firehose.message, /^an #account event for did:plc:\w+ \(updateSubjectStatus with no change: the account's status restated\) reached the firehose at the public URL as seq \d+ (only )?[\d.]+ m?s after the write$/)
      const refreshed = await fetch(`${bed.url}/xrpc/com.atproto.server.refreshSession`, {
        method: 'POST',
        headers: { authorization: `Bearer ${session.refreshJwt}` },
      })
      assert.equal(refreshed.status, 200, 'the session the probe did not own still works')
    })

    test(`doctor behind a proxy that re-frames body-less POSTs as chunked: ${line === '0.4' ? 'fails, with the cloudflared fix' : 'passes (0.5 accepts the re-framed POST)'}`, async () => {
      const before = proxy.forwarded.length
      const res = await runCli(['doctor', '--url', proxy.url, '--env-file', envFile, '--no-relays', '--json'])
      const report = JSON.parse(res.stdout) as DoctorReport
      const check = report.checks.find((c) => c.id === 'bodyless-post')!
      const probe = proxy.forwarded.slice(before).find((f) => f.path === '/xrpc/com.atproto.server.deleteSession')
      assert.equal(probe?.te, 'chunked', 'the proxy really re-framed the probe')
      if (line === '0.4') {
        assert.equal(res.code, 6, res.stderr)
        assert.equal(check.status, 'fail')
        assert.match(check.message, /re-frames it as chunked/)
        assert.match(check.fix ?? '', /disableChunkedEncoding/)
        assert.match(res.stderr, /^Error: 1 check failed: bodyless-post/m)
      } else {
        assert.equal(res.code, 0, res.stdout + res.stderr)
        assert.equal(check.status, 'pass')
        assert.match(check.message, /also accepts one re-framed as chunked; a 0\.4\.x PDS would not/)
      }
      // The user-facing call behind the same proxy agrees with the doctor.
      const who = seeded[7]
      const sent = await runCli(['email', 'confirm', who.handle, '--password-stdin', '--json'], { env: { PDS_URL: proxy.url }, stdin: who.password })
      if (line === '0.4') assert.notEqual(sent.code, 0, 'requestEmailConfirmation fails behind the proxy on 0.4')
      else assert.equal(sent.code, 0, sent.stderr)
    })

    test('doctor without PDS_JWT_SECRET cannot judge the framing: it warns and says what to pass', async () => {
      const res = await runCli(['doctor', '--url', proxy.url, '--no-relays', '--json'], { env: { PDS_ADMIN_PASSWORD: bed.adminPassword } })
      assert.equal(res.code, 0, res.stderr)
      const check = (JSON.parse(res.stdout) as DoctorReport).checks.find((c) => c.id === 'bodyless-post')!
      assert.equal(check.status, 'warn')
      assert.match(check.fix ?? '', /PDS_JWT_SECRET/)
    })
  })
}
