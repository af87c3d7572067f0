// `pdsctl email test` against real smtp-server listeners on loopback: plain, STARTTLS and
// implicit TLS (self-signed, trusted through NODE_EXTRA_CA_CERTS: pdsctl verifies TLS),
// with and without auth; each failure planted and named; the password never printed.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { makeCert, startListener, type Cert, type Listener } from '../../bed/smtpListeners.js'
import { runCli, type CliResult } from '../../helpers/cli.js'
import { startFakeKube } from '../../bed/fakeKube.js'
import { reapKubectls } from '../../helpers/processes.js'
import type { EmailTestReport } from '../../../src/commands/email/test.js'

const PASS = 'p@ss/w:rd#1'
const ENC = encodeURIComponent(PASS)
const dir = mkdtempSync(path.join(tmpdir(), 'email-test-'))
let n = 0
function envFile(lines: Record<string, string>): string {
  const f = path.join(dir, `pds${n++}.env`)
  writeFileSync(f, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  return f
}
function noSecret(res: CliResult): void {
  for (const s of [PASS, ENC, 'wrong-Pa55']) {
    assert.ok(!res.stdout.includes(s) && !res.stderr.includes(s), `a password was printed:\n${res.stdout}\n${res.stderr}`)
  }
}

describe('pdsctl email test', () => {
  let cert: Cert
  let plain: Listener
  let starttls: Listener
  let tls: Listener
  let env: Record<string, string>
  before(async () => {
    cert = makeCert()
    plain = await startListener({ mode: 'plain' })
    starttls = await startListener({ mode: 'starttls', cert, auth: { user: 'pds', pass: PASS } })
    tls = await startListener({ mode: 'tls', cert, auth: { user: 'pds', pass: PASS }, allowedSenders: ['pds@example.com'] })
    env = { NODE_EXTRA_CA_CERTS: cert.caFile }
  })
  after(async () => {
    for (const l of [plain, starttls, tls]) await l.close()
  })

  const run = async (file: string, extra: string[] = [], opts: { env?: Record<string, string>; stdin?: string } = {}) => {
    const res = await runCli(['email', 'test', '--to', 'me@example.com', '--env-file', file, '--json', ...extra], { env: { ...env, ...opts.env }, stdin: opts.stdin, timeoutMs: 40_000 })
    noSecret(res)
    return { res, report: res.stdout ? (JSON.parse(res.stdout) as EmailTestReport) : undefined }
  }

  test('plain SMTP: the message arrives with the right from and to; the moderation mailer is reported unset', async () => {
    const f = envFile({ PDS_EMAIL_SMTP_URL: `smtp://127.0.0.1:${plain.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' })
    const { res, report } = await run(f)
    assert.equal(res.code, 0, res.stderr)
    const [email, mod] = report!.checks
    assert.equal(email.sent, true)
    assert.equal(email.source, f)
    assert.match(email.response!, /^250 /)
    assert.equal(plain.received.length, 1)
    assert.equal(plain.received[0].from, 'pds@example.com')
    assert.deepEqual(plain.received[0].to, ['me@example.com'])
    assert.match(plain.received[0].raw, /^Subject: pdsctl email test \(email mailer\)/m)
    assert.deepEqual([mod.mailer, mod.configured, mod.error?.kind], ['moderation', false, 'not-configured'])
    assert.match(res.stderr, /Warning: PDS_MODERATION_EMAIL_SMTP_URL is not set in .*: admin\.sendEmail \(`pdsctl email send`\) answers sent: true and sends nothing/)
  })

  test('STARTTLS with auth (percent-encoded password): sent, the URL shown redacted', async () => {
    const f = envFile({ PDS_EMAIL_SMTP_URL: `smtp://pds:${ENC}@127.0.0.1:${starttls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' })
    const { res, report } = await run(f)
    assert.equal(res.code, 0, res.stderr)
    assert.equal(report!.checks[0].smtpUrl, `smtp://pds:****@127.0.0.1:${starttls.port}`)
    assert.deepEqual(starttls.logins, [{ user: 'pds', ok: true }])
    assert.equal(starttls.received.at(-1)?.user, 'pds')
    assert.deepEqual(starttls.received.at(-1)?.to, ['me@example.com'])
  })

  test('implicit TLS (smtps://) with auth: sent', async () => {
    const f = envFile({ PDS_EMAIL_SMTP_URL: `smtps://pds:${ENC}@localhost:${tls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' })
    const { res, report } = await run(f)
    assert.equal(res.code, 0, res.stderr)
    assert.equal(report!.checks[0].sent, true)
    assert.equal(tls.received.at(-1)?.from, 'pds@example.com')
  })

  const failures: Array<[string, () => Record<string, string>, string, RegExp, RegExp, string[]?]> = [
    ['a wrong password', () => ({ PDS_EMAIL_SMTP_URL: `smtp://pds:wrong-Pa55@127.0.0.1:${starttls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'auth', /refused the user name or password \(the server said: 535/, /app password.*percent-encoded/],
    ['no credentials where auth is required', () => ({ PDS_EMAIL_SMTP_URL: `smtp://127.0.0.1:${starttls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'auth', /requires authentication/, /smtps:\/\/USER:PASSWORD@HOST:465/],
    ['a sender the server does not allow', () => ({ PDS_EMAIL_SMTP_URL: `smtps://pds:${ENC}@127.0.0.1:${tls.port}`, PDS_EMAIL_FROM_ADDRESS: 'noreply@other.example' }), 'sender-rejected', /refused the sender noreply@other\.example \(the server said: 553/, /PDS_EMAIL_FROM_ADDRESS/],
    ['a refused port', () => ({ PDS_EMAIL_SMTP_URL: 'smtp://127.0.0.1:9', PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'connection-refused', /127\.0\.0\.1:9 was refused/, /check the host and port/],
    ['smtps:// against a STARTTLS port', () => ({ PDS_EMAIL_SMTP_URL: `smtps://pds:${ENC}@127.0.0.1:${starttls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'tls-mismatch', /TLS mismatch: .*starts in plain text/, /Use smtp:\/\/ for port \d+ \(STARTTLS\)/],
    ['smtp:// against an implicit-TLS port', () => ({ PDS_EMAIL_SMTP_URL: `smtp://pds:${ENC}@127.0.0.1:${tls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'timeout', /sent no SMTP greeting: it probably expects TLS from the first byte/, /port 465 needs smtps:\/\//, ['--smtp-timeout', '2']],
    ['smtp:// on port 465 (caught before connecting)', () => ({ PDS_EMAIL_SMTP_URL: `smtp://pds:${ENC}@127.0.0.1:465`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'bad-url', /smtp:\/\/ on port 465/, /Use smtps:\/\/ for port 465/],
    ['an unencoded / and # in the password (caught before connecting)', () => ({ PDS_EMAIL_SMTP_URL: `smtp://pds:${PASS}@127.0.0.1:${starttls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), 'bad-url', /contains '\/', '#' unencoded, which ends the host part/, /\/ → %2F, # → %23/],
  ]
  for (const [name, lines, kind, message, fix, extra] of failures) {
    test(`${name} is named in plain words (exit 6)`, async () => {
      const loginsBefore = starttls.logins.length + tls.logins.length
      const { res, report } = await run(envFile(lines()), extra)
      assert.equal(res.code, 6, res.stderr)
      const e = report!.checks[0].error!
      assert.equal(e.kind, kind, JSON.stringify(e))
      assert.match(e.message, message)
      assert.match(e.fix, fix)
      assert.equal(report!.checks[0].sent, false)
      assert.match(res.stderr, /^Error: email mailer: /m)
      assert.equal(res.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1)
      if (kind === 'bad-url') assert.equal(starttls.logins.length + tls.logins.length, loginsBefore, 'nothing was sent to a server')
    })
  }

  test('an untrusted certificate is refused: pdsctl verifies TLS', async () => {
    const f = envFile({ PDS_EMAIL_SMTP_URL: `smtps://pds:${ENC}@127.0.0.1:${tls.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' })
    const { res, report } = await run(f, [], { env: { NODE_EXTRA_CA_CERTS: '' } })
    assert.equal(res.code, 6)
    assert.equal(report!.checks[0].error!.kind, 'tls-certificate')
    assert.match(report!.checks[0].error!.message, /is not trusted \(self-signed certificate/)
  })

  test('--moderation sends through PDS_MODERATION_EMAIL_SMTP_URL too, from PDS_MODERATION_EMAIL_ADDRESS', async () => {
    const f = envFile({
      PDS_EMAIL_SMTP_URL: `smtp://127.0.0.1:${plain.port}`,
      PDS_EMAIL_FROM_ADDRESS: 'pds@example.com',
      PDS_MODERATION_EMAIL_SMTP_URL: `smtps://pds:${ENC}@127.0.0.1:${tls.port}`,
      PDS_MODERATION_EMAIL_ADDRESS: 'pds@example.com',
    })
    const before = tls.received.length
    const { res, report } = await run(f, ['--moderation'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(report!.checks.map((c) => [c.mailer, c.sent]), [['email', true], ['moderation', true]])
    assert.equal(report!.checks[1].smtpUrl, `smtps://pds:****@127.0.0.1:${tls.port}`)
    assert.equal(tls.received.length, before + 1)
    assert.match(tls.received.at(-1)!.raw, /^Subject: pdsctl email test \(moderation mailer\)/m)
    const unset = await run(envFile({ PDS_EMAIL_SMTP_URL: `smtp://127.0.0.1:${plain.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' }), ['--moderation'])
    assert.equal(unset.res.code, 6)
    assert.match(unset.res.stderr, /^Error: moderation mailer: PDS_MODERATION_EMAIL_SMTP_URL is not set/m)
  })

  test('--smtp-url-stdin; an SMTP URL with a password as an argument is refused without echoing it', async () => {
    const res = await runCli(['email', 'test', '--to', 'me@example.com', '--smtp-url-stdin', '--from', 'pds@example.com', '--json'], {
      env,
      stdin: `smtp://pds:${ENC}@127.0.0.1:${starttls.port}\n`,
    })
    noSecret(res)
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as EmailTestReport).checks[0].source, 'stdin')
    const bad = await runCli(['email', 'test', '--to', 'me@example.com', '--smtp-url-stdin', '--from', 'pds@example.com'], { env, stdin: `smtp://pds:${PASS}@127.0.0.1:1\n` })
    noSecret(bad)
    assert.equal(bad.code, 2)
    for (const args of [['--smtp-url', `smtps://pds:${PASS}@host:465`], [`smtps://pds:${ENC}@host:465`], [`--smtp-url=smtp://pds:${ENC}@host:587`]]) {
      const argv = await runCli(['email', 'test', '--to', 'me@example.com', ...args], { env })
      noSecret(argv)
      assert.equal(argv.code, 2)
      assert.match(argv.stderr, /^Error: an SMTP URL with a password was given on the command line.*--smtp-url-stdin/m)
    }
  })

  test('the settings from the Kubernetes Secret (installer keys smtpServer/smtpFromAddress), read with the real kubectl', async () => {
    const k = await startFakeKube({
      backendPort: 1,
      secrets: { 'pds-secrets': { adminPassword: 'x', smtpServer: `smtp://pds:${ENC}@127.0.0.1:${starttls.port}`, smtpFromAddress: 'pds@example.com' } },
    })
    try {
      const before = starttls.received.length
      const res = await runCli(['email', 'test', '--to', 'me@example.com', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'pds-secrets', '--json'], {
        env: { ...env, ...k.env },
        timeoutMs: 40_000,
      })
      noSecret(res)
      assert.equal(res.code, 0, res.stderr)
      const report = JSON.parse(res.stdout) as EmailTestReport
      assert.deepEqual([report.checks[0].source, report.checks[0].sent, report.checks[0].smtpUrl], ['Secret pds-secrets', true, `smtp://pds:****@127.0.0.1:${starttls.port}`])
      assert.equal(report.checks[1].error?.kind, 'not-configured')
      assert.equal(starttls.received.length, before + 1)
      assert.ok(!k.requests.some((r) => r.upgrade), 'no port-forward: email test never talks to the PDS')
    } finally {
      assert.deepEqual(await reapKubectls(k.cacheDir), [])
      await k.close()
    }
  })

  test('bad input before any connection: a malformed --to, no settings to read', async () => {
    const f = envFile({ PDS_EMAIL_SMTP_URL: `smtp://127.0.0.1:${plain.port}`, PDS_EMAIL_FROM_ADDRESS: 'pds@example.com' })
    const count = plain.received.length
    const bad = await runCli(['email', 'test', '--to', 'not-an-address', '--env-file', f], { env })
    assert.equal(bad.code, 2)
    const none = await runCli(['email', 'test', '--to', 'me@example.com'], { env })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no PDS settings to read the SMTP URL from.*--env-file/)
    assert.equal(plain.received.length, count)
  })
})
