// `pdsctl config check`: each problem planted in a real env file, Secret (the real kubectl
// against the fake API server) and the manifests `pdsctl k8s manifests` writes, and seen named.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startFakeKube, type FakeKube } from '../../bed/fakeKube.js'
import { reapKubectls } from '../../helpers/processes.js'
import { runCli, type CliResult } from '../../helpers/cli.js'
import type { ConfigReport } from '../../../src/lib/selfhost/configCheck.js'

const ADMIN = 'Adm1n-s3cret-value'
const JWT = '0123456789abcdef0123456789abcdef'
const ROT = 'a1'.repeat(32)
const SMTP_PW = 'smtp-Pa55word'
const SECRETS = [ADMIN, JWT, ROT, SMTP_PW]

/** What the official installer writes, plus invites and rate limits on. */
const GOOD: Record<string, string> = {
  PDS_HOSTNAME: 'pds.example.com',
  PDS_JWT_SECRET: JWT,
  PDS_ADMIN_PASSWORD: ADMIN,
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: ROT,
  PDS_DATA_DIRECTORY: '/pds',
  PDS_BLOBSTORE_DISK_LOCATION: '/pds/blocks',
  PDS_BLOB_UPLOAD_LIMIT: '104857600',
  PDS_DID_PLC_URL: 'https://plc.directory',
  PDS_BSKY_APP_VIEW_URL: 'https://api.bsky.app',
  PDS_BSKY_APP_VIEW_DID: 'did:web:api.bsky.app',
  PDS_REPORT_SERVICE_URL: 'https://mod.bsky.app',
  PDS_REPORT_SERVICE_DID: 'did:plc:ar7c4by46qjdydhdevvrndac',
  PDS_CRAWLERS: 'https://bsky.network',
  PDS_EMAIL_SMTP_URL: `smtps://resend:${SMTP_PW}@smtp.resend.com:465`,
  PDS_EMAIL_FROM_ADDRESS: 'noreply@pds.example.com',
  PDS_RATE_LIMITS_ENABLED: 'true',
  LOG_ENABLED: 'true',
}

const dir = mkdtempSync(path.join(tmpdir(), 'config-check-'))
let n = 0
function envFile(values: Record<string, string | undefined>): string {
  const f = path.join(dir, `pds${n++}.env`)
  writeFileSync(f, Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  return f
}
function noSecrets(res: CliResult): void {
  for (const s of SECRETS) assert.ok(!res.stdout.includes(s) && !res.stderr.includes(s), `a secret value was printed:\n${res.stdout}${res.stderr}`)
}
async function check(values: Record<string, string | undefined>, extra: string[] = []): Promise<{ res: CliResult; report: ConfigReport; get: (id: string) => ConfigReport['checks'][number] | undefined }> {
  const res = await runCli(['config', 'check', '--env-file', envFile(values), '--json', ...extra])
  noSecrets(res)
  const report = JSON.parse(res.stdout) as ConfigReport
  return { res, report, get: (id) => report.checks.find((c) => c.id === id) }
}

describe('pdsctl config check (env file)', () => {
  test("the installer's configuration passes every check (exit 0), and no secret is printed", async () => {
    const { res, report } = await check(GOOD)
    assert.equal(res.code, 0, res.stdout + res.stderr)
    assert.equal(report.line, 'both')
    assert.match(report.source, /pds\d+\.env$/)
    assert.deepEqual(report.checks.filter((c) => c.status !== 'pass'), [])
    assert.match(report.checks[0].message, /all 16 PDS_\* keys are read by @atproto\/pds 0\.4\.217 \(98 variables\) and 0\.5\.\d+ \(93 variables\)/)
    const table = await runCli(['config', 'check', '--env-file', envFile(GOOD)], { env: { PDSCTL_FORCE_TTY: '1' } })
    noSecrets(table)
    assert.equal(table.code, 0)
  })

  test('a misspelled key gets a did-you-mean and fails; an unknown one warns', async () => {
    const { res, get } = await check({ ...GOOD, PDS_INVITE_REQURED: 'false', PDS_SOMETHING_ELSE: '1', PDS_URL: 'https://pds.example.com' })
    assert.equal(get('key PDS_URL'), undefined, "pdsctl's own PDS_URL is no finding")
    assert.equal(res.code, 6)
    assert.equal(get('key PDS_INVITE_REQURED')?.status, 'fail')
    assert.match(get('key PDS_INVITE_REQURED')!.fix!, /^Did you mean PDS_INVITE_REQUIRED\?/)
    assert.equal(get('key PDS_SOMETHING_ELSE')?.status, 'warn')
    assert.match(res.stderr, /^Error: 1 configuration check failed: key PDS_INVITE_REQURED$/m)
  })

  test('keys 0.5 removed (colours, *_HUE, *_CONTRAST) are named for 0.5 and fine for 0.4; a 0.5-only key is named for 0.4', async () => {
    const colours = { PDS_DARK_COLOR: '#000000', PDS_LIGHT_COLOR: '#ffffff', PDS_PRIMARY_COLOR_HUE: '210', PDS_ERROR_COLOR_CONTRAST: '3' }
    const on05 = await check({ ...GOOD, ...colours }, ['--pds-line', '0.5'])
    assert.equal(on05.res.code, 0)
    assert.equal(on05.report.line, '0.5')
    for (const k of Object.keys(colours)) {
      assert.equal(on05.get(`key ${k}`)?.status, 'warn', k)
      assert.match(on05.get(`key ${k}`)!.message, /was removed in PDS 0\.5 \(the colour variables were dropped\)/)
    }
    const on04 = await check({ ...GOOD, ...colours }, ['--pds-line', '0.4'])
    assert.deepEqual(on04.report.checks.filter((c) => c.id.startsWith('key ')), [])
    const only05 = await check({ ...GOOD, PDS_BACKGROUND_DARK_URL: 'https://example.com/bg.png' }, ['--pds-line', '0.4'])
    assert.match(only05.get('key PDS_BACKGROUND_DARK_URL')!.message, /read only by PDS 0\.5; 0\.4 ignores it/)
  })

  test('each required variable missing is a failure naming what breaks', async () => {
    const required = ['PDS_HOSTNAME', 'PDS_JWT_SECRET', 'PDS_ADMIN_PASSWORD', 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX', 'PDS_DATA_DIRECTORY', 'PDS_BLOBSTORE_DISK_LOCATION']
    const { res, get } = await check(Object.fromEntries(Object.entries(GOOD).filter(([k]) => !required.includes(k))))
    assert.equal(res.code, 6)
    for (const k of required) assert.equal(get(`required ${k}`)?.status, 'fail', k)
    assert.match(get('required PDS_JWT_SECRET')!.message, /does not start \("Must provide a JWT secret"\)/)
    assert.match(get('required PDS_DATA_DIRECTORY')!.message, /lost on restart/)
    const s3 = await check({ ...GOOD, PDS_BLOBSTORE_DISK_LOCATION: undefined, PDS_BLOBSTORE_S3_BUCKET: 'blobs' })
    assert.equal(s3.get('required PDS_BLOBSTORE_DISK_LOCATION')?.status, 'pass')
    const both = await check({ ...GOOD, PDS_BLOBSTORE_S3_BUCKET: 'blobs' })
    assert.equal(both.get('blobstore')?.status, 'fail')
  })

  test('malformed values are named; secret values never shown', async () => {
    const { res, get } = await check({
      ...GOOD,
      PDS_HOSTNAME: 'https://pds.example.com',
      PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: ROT.slice(0, 60) + 'zz',
      PDS_BLOB_UPLOAD_LIMIT: '50mb',
      PDS_ACCEPTING_REPO_IMPORTS: 'yes',
      PDS_DID_PLC_URL: 'plc.directory',
      PDS_CRAWLERS: 'https://bsky.network,bsky.network',
      PDS_BSKY_APP_VIEW_DID: 'api.bsky.app',
      PDS_SERVICE_HANDLE_DOMAINS: 'pds.example.com',
      PDS_EMAIL_SMTP_URL: `smtp://resend:${SMTP_PW}@smtp.resend.com:465`,
      PDS_MODERATION_EMAIL_SMTP_URL: `smtps://resend:${SMTP_PW}/x@smtp.resend.com:465`,
      PDS_MODERATION_EMAIL_ADDRESS: 'moderation@pds.example.com',
    })
    assert.equal(res.code, 6)
    const expect: Array<[string, RegExp]> = [
      ['PDS_HOSTNAME', /\("https:\/\/pds\.example\.com"\) is not a bare hostname/],
      ['PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX', /^PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX is not 64 hex characters/],
      ['PDS_BLOB_UPLOAD_LIMIT', /\("50mb"\) is not a plain integer: the PDS reads only its leading digits \(50\)/],
      ['PDS_ACCEPTING_REPO_IMPORTS', /\("yes"\) is not true\/false\/1\/0/],
      ['PDS_DID_PLC_URL', /is not an http\(s\) URL/],
      ['PDS_CRAWLERS', /has 1 entry that is not an http\(s\) URL/],
      ['PDS_BSKY_APP_VIEW_DID', /is not a DID/],
      ['PDS_SERVICE_HANDLE_DOMAINS', /without its leading dot/],
      ['PDS_EMAIL_SMTP_URL', /smtp:\/\/ on port 465/],
      ['PDS_MODERATION_EMAIL_SMTP_URL', /contains '\/' unencoded/],
    ]
    for (const [k, re] of expect) {
      assert.equal(get(`value ${k}`)?.status, 'fail', k)
      assert.match(get(`value ${k}`)!.message, re, k)
    }
  })

  test('half a mailer is a failure (the PDS refuses to start)', async () => {
    const { get } = await check({ ...GOOD, PDS_EMAIL_FROM_ADDRESS: undefined, PDS_MODERATION_EMAIL_ADDRESS: 'mod@pds.example.com' })
    assert.match(get('value PDS_EMAIL_FROM_ADDRESS')!.message, /PDS_EMAIL_SMTP_URL is set without PDS_EMAIL_FROM_ADDRESS: the PDS does not start/)
    assert.match(get('value PDS_MODERATION_EMAIL_SMTP_URL')!.message, /PDS_MODERATION_EMAIL_ADDRESS is set without PDS_MODERATION_EMAIL_SMTP_URL/)
  })

  test('risky choices warn: open sign-up without hCaptcha or mail, rate limits off, dev mode', async () => {
    const { res, get } = await check({ ...GOOD, PDS_INVITE_REQUIRED: 'false', PDS_EMAIL_SMTP_URL: undefined, PDS_EMAIL_FROM_ADDRESS: undefined, PDS_RATE_LIMITS_ENABLED: undefined, PDS_DEV_MODE: 'true' })
    assert.equal(res.code, 0, 'warnings only')
    assert.equal(get('signups')?.status, 'warn')
    assert.match(get('signups')!.message, /no hCaptcha and no mail server .* a spam magnet/)
    assert.equal(get('rate-limits')?.status, 'warn')
    assert.match(get('rate-limits')!.message, /unset, and off is the default/)
    assert.equal(get('dev-mode')?.status, 'warn')
    const captcha = await check({ ...GOOD, PDS_INVITE_REQUIRED: 'false', PDS_HCAPTCHA_SITE_KEY: 'site', PDS_HCAPTCHA_SECRET_KEY: 'secret' })
    assert.equal(captcha.get('signups')?.status, 'pass')
  })

  test('bad input: no configuration, --env-file with --kube-secret, a missing manifests folder, a bad line', async () => {
    for (const args of [[], ['--env-file', envFile(GOOD), '--kube-secret', 'pds-secrets'], ['--manifests', '/nonexistent/dir'], ['--env-file', envFile(GOOD), '--pds-line', '0.6']]) {
      const res = await runCli(['config', 'check', ...args])
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr)
    }
  })
})

describe('pdsctl config check (Secret + manifests, real kubectl)', () => {
  let k: FakeKube
  let manifests: string
  let partialManifests: string
  const secretData = { adminPassword: ADMIN, jwtSecret: JWT, plcRotationKey: ROT, smtpServer: GOOD.PDS_EMAIL_SMTP_URL, smtpFromAddress: 'noreply@pds.example.com' }
  before(async () => {
    k = await startFakeKube({
      backendPort: 1,
      namespace: 'pds',
      secrets: {
        'pds-secrets': secretData,
        'bad-secrets': { ...secretData, plcRotationKey: 'not-hex', jwtSecret: '' },
        'partial-secrets': Object.fromEntries(Object.entries(secretData).filter(([key]) => key !== 'jwtSecret')),
      },
    })
    manifests = path.join(dir, 'manifests')
    partialManifests = path.join(dir, 'manifests-partial')
    for (const [d, secret] of [[manifests, 'pds-secrets'], [partialManifests, 'partial-secrets']]) {
      const res = await runCli(['k8s', 'manifests', '--hostname', 'pds.example.com', '--dir', d, '--secret-name', secret])
      assert.equal(res.code, 0, res.stderr)
    }
  })
  afterEach(async () => assert.deepEqual(await reapKubectls(k.cacheDir), []))
  after(() => k.close())

  test('the Secret with the manifests pdsctl writes: every reference resolved; only rate limits warn', async () => {
    const res = await runCli(['config', 'check', '--kube-secret', 'pds-secrets', '--kube-namespace', 'pds', '--manifests', manifests, '--json'], { env: k.env })
    noSecrets(res)
    assert.equal(res.code, 0, res.stdout + res.stderr)
    const report = JSON.parse(res.stdout) as ConfigReport
    assert.equal(report.source, `${manifests} with Secret pds-secrets`)
    assert.deepEqual(report.checks.filter((c) => c.status !== 'pass').map((c) => c.id), ['rate-limits'])
  })

  test('a malformed and an empty key in the Secret are named with where they come from', async () => {
    // The manifests refer to pds-secrets; check the bad Secret under that name through its own data.
    const res = await runCli(['config', 'check', '--kube-secret', 'bad-secrets', '--kube-namespace', 'pds', '--json'], { env: k.env })
    noSecrets(res)
    assert.equal(res.code, 6)
    const report = JSON.parse(res.stdout) as ConfigReport
    const rot = report.checks.find((c) => c.id === 'value PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX')!
    assert.equal(rot.status, 'fail')
    assert.match(rot.message, /is not 64 hex characters .*this one has 7 characters/)
    assert.equal(report.checks.find((c) => c.id === 'required PDS_JWT_SECRET')?.status, 'fail')
    assert.equal(report.checks.find((c) => c.id === 'required PDS_HOSTNAME'), undefined, 'a Secret alone is not judged on the Deployment env')
    assert.match(res.stderr, /Only the Secret was given/)
  })

  test('manifests without the Secret: references count as set; a Secret that lacks a referenced key is named; an unknown Secret is exit 7', async () => {
    const alone = await runCli(['config', 'check', '--manifests', manifests, '--json'])
    assert.equal(alone.code, 0, alone.stdout)
    const partial = await runCli(['config', 'check', '--kube-secret', 'partial-secrets', '--kube-namespace', 'pds', '--manifests', partialManifests, '--json'], { env: k.env })
    noSecrets(partial)
    assert.equal(partial.code, 6)
    const report = JSON.parse(partial.stdout) as ConfigReport
    assert.match(report.checks.find((c) => c.id === 'manifests')!.message, /PDS_JWT_SECRET refers to key jwtSecret that Secret partial-secrets lacks: the pod will not start/)
    assert.equal(report.checks.find((c) => c.id === 'required PDS_JWT_SECRET')?.status, 'fail')
    const missing = await runCli(['config', 'check', '--kube-secret', 'nope', '--kube-namespace', 'pds', '--manifests', manifests], { env: k.env })
    assert.equal(missing.code, 7, missing.stderr)
    assert.match(missing.stderr, /^Error: cannot read Secret nope in namespace pds: .*not found/m)
  })
})
