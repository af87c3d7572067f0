// The migration case of `npm run bench`: `account migrate` of an account with 1,000
// records and 200 MB of blobs (one of 60 MB, twenty of 5 MB, forty of 1 MB: peak RSS must
// not follow the blob sizes) between two real PDSes, against bench/floor-migrate-http.mjs
// (the same calls in goat's order with node:http, the same blob concurrency). A migration
// changes the world, so every run moves an account of its own, seeded beforehand; each
// side runs as a script does: a first process up to the mailed PLC token, a second with it.
// Runs alternate (pdsctl, floor; floor, pdsctl; …) after one uncounted warm-up of each.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTwoPdses, type TwoPdses } from '../test/bed/twoPds.js'
import { cleanEnv } from '../test/helpers/cli.js'
import { blobBytes, login, plcToken, xrpc } from '../test/commands/account/migrateSupport.js'
import { median, quantile, shellTime, type ShellRun } from './shell.js'

export interface MigrateBenchOptions {
  runs: number
  /** Total blob bytes per account (default 200 MB), and records (default 1,000). */
  blobBytes: number
  records: number
  concurrency: number
  node: string
  pdsctl: (...args: string[]) => string[]
  floor: string
  log: (line: string) => void
}

export interface MigrateBenchResult {
  /** Medians of the whole migration (both processes), ms. */
  pdsctlMs: number
  floorMs: number
  ratio: number
  ratioP25: number
  ratioP75: number
  pdsctlCpuMs: number
  floorCpuMs: number
  /** Peak RSS of pdsctl (the larger of its two processes), MiB: median and maximum over the runs. */
  rssMiB: number
  rssMaxMiB: number
  floorRssMiB: number
  phase1: { pdsctlMs: number; floorMs: number }
  phase2: { pdsctlMs: number; floorMs: number }
}

/** 60 MB + 20 × 5 MB + 40 × 1 MB = 200 MB; scaled down for smaller totals. */
function blobSizes(total: number): number[] {
  const shape = [60e6, ...Array(20).fill(5e6), ...Array(40).fill(1e6)]
  const scale = total / shape.reduce((a, b) => a + b, 0)
  return shape.map((s) => Math.max(1000, Math.round(s * scale)))
}

interface Seeded {
  did: string
  handle: string
  email: string
  password: string
}

async function seed(pair: TwoPdses, name: string, blobs: Buffer[], records: number): Promise<Seeded> {
  const a = await pair.old.createAccount(`${name}${pair.old.handleDomain}`)
  const jwt = await login(pair.old.url, a.did, a.password)
  const writes: unknown[] = []
  for (const bytes of blobs) {
    const up = await xrpc(pair.old.url, 'com.atproto.repo.uploadBlob', { raw: bytes, type: 'image/png', bearer: jwt })
    if (up.status !== 200) throw new Error(`uploadBlob: ${up.status} ${JSON.stringify(up.body)}`)
    const value =
      bytes.length <= 900_000
        ? { $type: 'app.bsky.feed.post', text: 'an image', createdAt: new Date().toISOString(), embed: { $type: 'app.bsky.embed.images', images: [{ alt: '', image: up.body.blob }] } }
        : { $type: 'com.example.pdsctl.attachment', file: up.body.blob, createdAt: new Date().toISOString() }
    writes.push({ $type: 'com.atproto.repo.applyWrites#create', collection: value.$type, value })
  }
  while (writes.length < records) {
    writes.push({ $type: 'com.atproto.repo.applyWrites#create', collection: 'app.bsky.feed.post', value: { $type: 'app.bsky.feed.post', text: `post ${writes.length}`, createdAt: new Date().toISOString() } })
  }
  for (let i = 0; i < writes.length; i += 200) {
    const w = await xrpc(pair.old.url, 'com.atproto.repo.applyWrites', { bearer: jwt, body: { repo: a.did, writes: writes.slice(i, i + 200) } })
    if (w.status !== 200) throw new Error(`applyWrites: ${w.status} ${JSON.stringify(w.body)}`)
  }
  await xrpc(pair.old.url, 'app.bsky.actor.putPreferences', { bearer: jwt, body: { preferences: [{ $type: 'app.bsky.actor.defs#adultContentPref', enabled: true }] } })
  return { did: a.did, handle: a.handle, email: a.email, password: a.password }
}

export async function benchMigrate(o: MigrateBenchOptions): Promise<MigrateBenchResult> {
  const limit = Math.max(100e6, o.blobBytes)
  const pair = await startTwoPdses({ oldOptions: { blobUploadLimit: limit }, newOptions: { blobUploadLimit: limit } })
  const tmp = mkdtempSync(path.join(tmpdir(), 'pdsctl-bench-migrate-'))
  try {
    const sizes = blobSizes(o.blobBytes)
    const blobs = sizes.map((s) => blobBytes(s))
    const n = 2 * (o.runs + 1)
    const t0 = Date.now()
    const accounts: Seeded[] = []
    for (let i = 0; i < n; i++) accounts.push(await seed(pair, `mig${i}`, blobs, o.records))
    o.log(`Seeded ${n} accounts of ${o.records} records and ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(0)} MB of blobs (${sizes.length}) in ${((Date.now() - t0) / 1000).toFixed(0)} s.`)

    const docPointsAtNew = async (did: string) => {
      const doc = (await (await fetch(`${pair.plcUrl}/${did}`)).json()) as { service: Array<{ serviceEndpoint: string }> }
      if (doc.service[0].serviceEndpoint !== `http://localhost:${pair.new.port}`) throw new Error(`${did} did not move`)
    }
    const runPdsctl = async (acct: Seeded, i: number): Promise<[ShellRun, ShellRun]> => {
      const home = mkdtempSync(path.join(tmp, 'home-'))
      const stdin = path.join(tmp, `stdin-${i}`)
      writeFileSync(stdin, `${acct.password}\nnew-pass-${i}-bench\n`, { mode: 0o600 })
      const env = cleanEnv({ PDS_URL: pair.new.url, PDS_ADMIN_PASSWORD: pair.new.adminPassword, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') })
      const argv = o.pdsctl('account', 'migrate', acct.did, '--from', pair.old.url, '--plc-url', pair.plcUrl, '--password-stdin', '--new-password-stdin', '--yes', '--json', '--concurrency', String(o.concurrency))
      const r1 = await shellTime(argv, env, { stdin })
      if (r1.code !== 0 || JSON.parse(r1.stdout).status !== 'waiting-for-token') throw new Error(`pdsctl phase 1 (exit ${r1.code}): ${r1.stderr.slice(-800)}`)
      const token = await plcToken(pair, acct.email)
      const r2 = await shellTime([...argv, '--token', token], env, { stdin })
      if (r2.code !== 0 || JSON.parse(r2.stdout).status !== 'done') throw new Error(`pdsctl phase 2 (exit ${r2.code}): ${r2.stderr.slice(-800)}`)
      await docPointsAtNew(acct.did)
      return [r1, r2]
    }
    const runFloor = async (acct: Seeded, i: number): Promise<[ShellRun, ShellRun]> => {
      const env = cleanEnv({
        OLD_URL: pair.old.url,
        NEW_URL: pair.new.url,
        DID: acct.did,
        OLD_PASSWORD: acct.password,
        NEW_PASSWORD: `new-pass-${i}-bench`,
        NEW_HANDLE: acct.handle.replace(pair.old.handleDomain, pair.new.handleDomain),
        EMAIL: acct.email,
        CONCURRENCY: String(o.concurrency),
      })
      const r1 = await shellTime([o.node, o.floor], { ...env, PHASE: '1' })
      if (r1.code !== 0) throw new Error(`floor phase 1: ${r1.stderr.slice(-800)}`)
      const token = await plcToken(pair, acct.email)
      const r2 = await shellTime([o.node, o.floor], { ...env, PHASE: '2', TOKEN: token })
      if (r2.code !== 0) throw new Error(`floor phase 2: ${r2.stderr.slice(-800)}`)
      await docPointsAtNew(acct.did)
      return [r1, r2]
    }

    const a: Array<[ShellRun, ShellRun]> = []
    const b: Array<[ShellRun, ShellRun]> = []
    let next = 0
    for (let i = 0; i <= o.runs; i++) {
      const pdsctlFirst = i % 2 === 0
      const x = pdsctlFirst ? await runPdsctl(accounts[next], next++) : undefined
      const y = await runFloor(accounts[next], next++)
      const z = pdsctlFirst ? x! : await runPdsctl(accounts[next], next++)
      if (i === 0) continue // warm-up
      a.push(z)
      b.push(y)
      o.log(`migrate run ${i}: pdsctl ${(z[0].ms + z[1].ms).toFixed(0)} ms (${(Math.max(z[0].maxRssKiB, z[1].maxRssKiB) / 1024).toFixed(0)} MiB), floor ${(y[0].ms + y[1].ms).toFixed(0)} ms`)
    }
    const total = (r: [ShellRun, ShellRun]) => r[0].ms + r[1].ms
    const ratios = a.map((r, i) => total(r) / total(b[i]))
    const rss = a.map((r) => Math.max(r[0].maxRssKiB, r[1].maxRssKiB) / 1024)
    const pdsctlMs = median(a.map(total))
    const floorMs = median(b.map(total))
    return {
      pdsctlMs,
      floorMs,
      ratio: pdsctlMs / floorMs,
      ratioP25: quantile(ratios, 0.25),
      ratioP75: quantile(ratios, 0.75),
      pdsctlCpuMs: median(a.map((r) => r[0].cpuMs + r[1].cpuMs)),
      floorCpuMs: median(b.map((r) => r[0].cpuMs + r[1].cpuMs)),
      rssMiB: median(rss),
      rssMaxMiB: Math.max(...rss),
      floorRssMiB: median(b.map((r) => Math.max(r[0].maxRssKiB, r[1].maxRssKiB) / 1024)),
      phase1: { pdsctlMs: median(a.map((r) => r[0].ms)), floorMs: median(b.map((r) => r[0].ms)) },
      phase2: { pdsctlMs: median(a.map((r) => r[1].ms)), floorMs: median(b.map((r) => r[1].ms)) },
    }
  } finally {
    await pair.close()
  }
}
