// The doctor's relay checks (one per relay, with the fix for what the relay says) and its
// config-check line, against the real test-bed PDS and stand-in relays.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startRelay, type RelayStandIn } from '../../bed/relay.js'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { runCli } from '../../helpers/cli.js'
import { startFakeKube } from '../../bed/fakeKube.js'
import { reapKubectls } from '../../helpers/processes.js'
import type { DoctorReport } from '../../../src/lib/selfhost/doctor.js'

describe('pdsctl doctor: relays and configuration', () => {
  let bed: TestBed
  let relays: Record<'active' | 'unknown' | 'banned' | 'throttled' | 'offline', RelayStandIn>
  before(async () => {
    bed = await startTestBed()
    await bed.seed(2, 'doc')
    const curr = (await bed.pds.ctx.sequencer.curr())!
    const host = (status: 'active' | 'banned' | 'throttled' | 'offline') => ({ '127.0.0.1': { status, accountCount: 2, seq: curr - 1 } })
    relays = {
      active: await startRelay({ knownHosts: host('active'), secrets: [bed.adminPassword] }),
      unknown: await startRelay({ secrets: [bed.adminPassword] }),
      banned: await startRelay({ knownHosts: host('banned'), secrets: [bed.adminPassword] }),
      throttled: await startRelay({ knownHosts: host('throttled'), secrets: [bed.adminPassword] }),
      offline: await startRelay({ knownHosts: host('offline'), secrets: [bed.adminPassword] }),
    }
  })
  after(async () => {
    for (const r of Object.values(relays)) await r.close()
    await bed.close()
  })

  test('each relay gets its own check and fix; the PDS count is shown beside the relay\'s', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'doctor-relays-'))
    const envFile = path.join(dir, 'pds.env')
    writeFileSync(envFile, `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_EMAIL_SMTP_URL=smtp://127.0.0.1:${bed.mail.port}\nPDS_EMAIL_FROM_ADDRESS=pds@localhost\nPDS_CRAWLERS=${Object.values(relays).map((r) => r.url).join(',')}\nPDS_DARK_COLOR=#000\nPDS_BLOB_UPLOAD_LIMIT=10mb\n`)
    const res = await runCli(['doctor', '--url', bed.url, '--env-file', envFile, '--json'])
    assert.equal(res.code, 6, res.stderr)
    const report = JSON.parse(res.stdout) as DoctorReport
    const c = (r: RelayStandIn) => report.checks.find((x) => x.id === `relay 127.0.0.1:${r.port}`)!
    assert.equal(c(relays.active).status, 'pass')
    assert.match(c(relays.active).message, /follows 127\.0\.0\.1: active, 2 accounts at the relay, 2 active on the PDS, relay seq \d+ \(1 behind the PDS's \d+\)/)
    assert.equal(c(relays.unknown).status, 'fail')
    assert.match(c(relays.unknown).fix!, new RegExp(`request-crawl ${relays.unknown.url}`))
    for (const r of [relays.banned, relays.throttled]) {
      assert.equal(c(r).status, 'fail')
      assert.match(c(r).fix!, /needs the relay's operator.*a requestCrawl does not lift it/)
    }
    assert.equal(c(relays.offline).status, 'fail')
    assert.match(c(relays.offline).message, /will not retry on its own/)
    assert.match(c(relays.offline).fix!, /request-crawl/)
    const config = report.checks.find((x) => x.id === 'config')!
    assert.equal(config.status, 'warn')
    assert.match(config.message, /failed \(.*value PDS_BLOB_UPLOAD_LIMIT.*\)/)
    assert.match(config.message, /warned \(.*key PDS_DARK_COLOR/)
    assert.match(config.fix!, /pdsctl config check --env-file/)
    assert.ok(!res.stdout.includes(bed.adminPassword))
    for (const r of Object.values(relays)) assert.deepEqual(r.credentialLeaks, [])
  })

  test('with a Secret (no env file), the config line judges what the Secret holds, read with the real kubectl', async () => {
    const k = await startFakeKube({
      backendPort: bed.port,
      secrets: { bluesky: { adminPassword: bed.adminPassword, jwtSecret: 'short', plcRotationKey: 'not-hex', smtpServer: `smtp://127.0.0.1:${bed.mail.port}`, smtpFromAddress: 'pds@localhost' } },
    })
    try {
      const res = await runCli(['doctor', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--kube-secret', 'bluesky', '--public-url', bed.url, '--no-relays', '--json'], { env: k.env })
      assert.equal(res.code, 0, res.stdout + res.stderr)
      const report = JSON.parse(res.stdout) as DoctorReport
      const config = report.checks.find((x) => x.id === 'config')!
      assert.equal(config.status, 'warn')
      assert.match(config.message, /^the configuration in Secret bluesky: 1 failed \(value PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX\); 1 warned \(value PDS_JWT_SECRET\)$/)
      assert.match(config.fix!, /pdsctl config check --kube-secret bluesky/)
      for (const v of [bed.adminPassword, 'not-hex']) assert.ok(!res.stdout.includes(v) && !res.stderr.includes(v))
    } finally {
      assert.deepEqual(await reapKubectls(k.cacheDir), [])
      await k.close()
    }
  })
})
