import { test } from 'node:test'
import assert from 'node:assert/strict'
import { findMailSettings, inspectSmtpUrl, redactSmtpUrl } from '../../../src/lib/selfhost/smtp.js'

test('redactSmtpUrl hides the password whatever its encoding, keeps user, host and port', () => {
  assert.equal(redactSmtpUrl('smtps://apikey:SG.abc%2Fdef@smtp.sendgrid.net:465'), 'smtps://apikey:****@smtp.sendgrid.net:465')
  assert.equal(redactSmtpUrl('smtps://me%40gmail.com:p@ss/w#x@smtp.gmail.com:465'), 'smtps://me%40gmail.com:****@smtp.gmail.com:465')
  assert.equal(redactSmtpUrl('smtp://relay.internal:25'), 'smtp://relay.internal:25')
  assert.equal(redactSmtpUrl('user:secret@host'), '****@host')
})

test('inspectSmtpUrl names each mistake operators make', () => {
  const fails = (u: string) => inspectSmtpUrl(u).problems.filter((p) => p.severity === 'fail').map((p) => p.message)
  const warns = (u: string) => inspectSmtpUrl(u).problems.filter((p) => p.severity === 'warn').map((p) => p.message)
  assert.deepEqual(fails('smtps://u:p%40ss@smtp.example.com:465'), [])
  assert.deepEqual(warns('smtps://u:p%40ss@smtp.example.com:465'), [])
  assert.match(fails('smtp.gmail.com:587')[0], /is not a URL/)
  assert.match(fails('https://u:p@smtp.example.com')[0], /uses https:\/\//)
  assert.match(fails('smtp://u:p@smtp.example.com:465')[0], /smtp:\/\/ on port 465/)
  assert.match(fails('smtps://u:p@smtp.example.com:587')[0], /smtps:\/\/ on port 587.*STARTTLS/)
  assert.match(fails('smtps://u:pa/ss@smtp.example.com:465')[0], /contains '\/' unencoded/)
  assert.match(fails('smtps://u:pa?ss@smtp.example.com:465')[0], /contains '\?' unencoded/)
  assert.match(fails('smtps://u:100%sure@smtp.example.com:465')[0], /'%' that is not a %XX escape/)
  assert.match(warns('smtps://u:p@ss@smtp.example.com:465')[0], /contains '@' unencoded/)
  assert.match(warns('smtps://u:p@ss@smtp.example.com:465?tls.rejectUnauthorized=false')[1], /turns off TLS certificate checks/)
  const info = inspectSmtpUrl('smtps://me%40gmail.com:x@smtp.gmail.com')
  assert.deepEqual([info.scheme, info.host, info.port, info.user, info.hasPassword], ['smtps', 'smtp.gmail.com', 465, 'me@gmail.com', true])
  assert.equal(inspectSmtpUrl('smtp://relay:2525').port, 2525)
  assert.equal(inspectSmtpUrl('smtp://relay').port, 587)
})

test('findMailSettings: environment, then env file, then the Secret (installer key names too)', async () => {
  const secretReads: string[] = []
  const secret = {
    name: 'pds',
    read: async (k: string) => {
      secretReads.push(k)
      return ({ smtpServer: 'smtps://u:p@s:465', smtpFromAddress: 'a@b.c' } as Record<string, string>)[k]
    },
  }
  const fromSecret = await findMailSettings({ env: {}, secret })
  assert.deepEqual(fromSecret.email, { source: 'Secret pds', smtpUrl: 'smtps://u:p@s:465', from: 'a@b.c' })
  assert.equal(fromSecret.moderation.smtpUrl, undefined)
  assert.equal(fromSecret.moderation.source, 'Secret pds')
  assert.ok(secretReads.includes('PDS_EMAIL_SMTP_URL') && secretReads.includes('smtpServer'))
  const fromFile = await findMailSettings({ env: { PDS_EMAIL_SMTP_URL: ' ' }, envFile: { path: '/pds/pds.env', values: { PDS_EMAIL_SMTP_URL: 'smtp://x:25', PDS_EMAIL_FROM_ADDRESS: 'f@x.y' } }, secret })
  assert.deepEqual(fromFile.email, { source: '/pds/pds.env', smtpUrl: 'smtp://x:25', from: 'f@x.y' })
  const fromEnv = await findMailSettings({ env: { PDS_EMAIL_SMTP_URL: 'smtp://e:25' }, envFile: { path: '/f', values: { PDS_EMAIL_SMTP_URL: 'smtp://x:25' } } })
  assert.equal(fromEnv.email.smtpUrl, 'smtp://e:25')
})
