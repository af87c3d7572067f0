// Secrets never echoed (issue 17, "What to build" 5): every form of a registered secret is
// hidden, for every length, before any cut or whitespace change; URL userinfo is never
// repeated; a child process's environment holds none of them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { envWithoutSecrets, redact, redactDeep, registerBasicAuth, registerEnvSecrets, registerSecret, registerUrlPassword, snippet } from '../../src/lib/redaction.js'
import { AuthError, XrpcError } from '../../src/lib/errors.js'
import { parsePdsUrl, withoutUserinfo } from '../../src/lib/pds/urls.js'

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')

test('the admin password in every form a server may echo: as is, admin:PW, its base64 (padded or not), the whole Basic value', () => {
  const pw = 'Adm1n-secret-pw'
  registerBasicAuth('admin', pw)
  const echo = `denied: ${pw} / admin:${pw} / Basic ${b64(`admin:${pw}`)} / ${b64(`admin:${pw}`).replace(/=+$/, '')} / "${JSON.stringify(pw).slice(1, -1)}"`
  const out = redact(echo)
  assert.ok(!out.includes(pw) && !out.includes(b64(`admin:${pw}`).replace(/=+$/, '')), out)
  assert.match(out, /Basic \*\*\*\*/)
})

test('any Basic or Bearer credential is hidden even when it is not one pdsctl knows (a prefix cut by the server)', () => {
  assert.equal(redact('Authorization: Basic YWRtaW46czNjcm'), 'Authorization: Basic ****')
  assert.equal(redact('bearer eyJhbGciOiJIUzI1NiJ9.e30.abc'), 'bearer ****')
  // Prose is not a credential.
  assert.equal(redact('HTTP Basic authentication failed'), 'HTTP Basic authentication failed')
})

test('short passwords (1-3 characters), passwords with tabs, double spaces and colons: every length is hidden', () => {
  for (const pw of ['q', 'Zx', 'k9!', 'tab\there', 'two  spaces', 'a:b:c', ' lead']) {
    registerBasicAuth('admin', pw)
    const header = `Basic ${b64(`admin:${pw}`)}`
    for (const echo of [`{"message":"bad auth ${header}"}`, `admin:${pw} rejected`, `pw=${pw};`, `${b64(`admin:${pw}`)}`]) {
      const out = redact(echo)
      assert.ok(!out.includes(`admin:${pw}`), `${JSON.stringify(pw)}: ${out}`)
      assert.ok(!out.includes(b64(`admin:${pw}`).replace(/=+$/, '')), `${JSON.stringify(pw)}: ${out}`)
    }
    assert.ok(!redact(`pw=${pw};`).includes(`=${pw};`), JSON.stringify(pw))
  }
  // A short password is hidden where it stands alone, not inside every word that holds its letters.
  registerSecret('Zx')
  assert.equal(redact('Zxylophone'), 'Zxylophone')
  assert.equal(redact('password Zx is wrong'), 'password **** is wrong')
})

test('redaction comes before the cut and the fold: no prefix of a secret survives a snippet', () => {
  const pw = 's3cr3t-with\ttab  and-spaces'
  registerBasicAuth('admin', pw)
  const body = `error: the header was Basic ${b64(`admin:${pw}`)} and the password ${pw}`
  const s = snippet(body, 60)
  assert.ok(!s.includes('YWRtaW46czNj'), s)
  assert.ok(!s.includes('s3cr3t'), s)
  // The folded form (a server that collapsed the whitespace itself) is hidden too.
  assert.ok(!redact(pw.replace(/\s+/g, ' ')).includes('s3cr3t'))
})

test('an error made from a server\'s words never holds a registered secret: message, xrpcMessage, hint', () => {
  const pw = 'pw-for-errors-123'
  registerBasicAuth('admin', pw)
  const e = new XrpcError('com.atproto.admin.getAccountInfo', 400, 'InvalidRequest', `echo: Basic ${b64(`admin:${pw}`)} admin:${pw}`)
  assert.ok(!e.line.includes(pw) && !e.xrpcMessage!.includes(pw) && !e.line.includes(b64(`admin:${pw}`)))
  const a = new AuthError(`rejected ${pw}`, { hint: `try ${pw}` })
  assert.ok(!a.line.includes(pw))
  assert.deepEqual(redactDeep({ error: { message: `x ${pw}`, list: [pw] } }), { error: { message: 'x ****', list: ['****'] } })
})

test('URL userinfo is never echoed: a bad scheme, a URL that does not parse, no scheme, the "try http://" hint', () => {
  const cases = ['ftp://admin:Pw-url-1@pds.example.com', 'https://admin:Pw-url-2@[::1', 'admin:Pw-url-3@127.0.0.1:3000', 'https://admin:Pw-url-4@pds.example.com/x', 'http://admin:Pw-url-5@10.0.0.1']
  for (const input of cases) {
    assert.throws(() => parsePdsUrl(input), (err: Error & { line?: string }) => {
      assert.doesNotMatch(err.line ?? err.message, /Pw-url/, input)
      return true
    })
  }
  assert.equal(withoutUserinfo('https://a:b@host:1/p?q'), 'https://***@host:1/p?q')
  assert.equal(withoutUserinfo('a:b@127.0.0.1:3000'), '***@127.0.0.1:3000')
  assert.equal(withoutUserinfo('https://host/a@b'), 'https://host/a@b')
  // ... and once seen, such a password is a secret like any other.
  assert.equal(redact('echo Pw-url-3'), 'echo ****')
})

test('SMTP URLs: the password is registered (raw and decoded) along with the AUTH PLAIN and LOGIN forms', () => {
  registerUrlPassword('smtps://mailer:p%40ss-smtp-9@smtp.example.com:465')
  assert.equal(redact('535 auth failed for p@ss-smtp-9'), '535 auth failed for ****')
  assert.equal(redact(b64('\0mailer\0p@ss-smtp-9')), '****')
})

test('a child process (kubectl) gets the environment without pdsctl\'s secrets', () => {
  const env = {
    PATH: '/usr/bin',
    HOME: '/home/op',
    KUBECONFIG: '/home/op/.kube/config',
    PDS_HOSTNAME: 'pds.example.com',
    PDS_ADMIN_PASSWORD: 'env-admin-password-1',
    PDS_JWT_SECRET: 'jwt',
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: 'ab'.repeat(32),
    PDS_RATE_LIMIT_BYPASS_KEY: 'bypass',
    PDS_EMAIL_SMTP_URL: 'smtps://u:p@h',
    PDS_ENTRYWAY_JWT_VERIFY_KEY_K256_PUBLIC_KEY_HEX: 'cd'.repeat(33),
    SOME_COPY: 'env-admin-password-1',
  }
  registerEnvSecrets(env)
  const child = envWithoutSecrets(env)
  assert.deepEqual(Object.keys(child).sort(), ['HOME', 'KUBECONFIG', 'PATH', 'PDS_ENTRYWAY_JWT_VERIFY_KEY_K256_PUBLIC_KEY_HEX', 'PDS_HOSTNAME'])
})
