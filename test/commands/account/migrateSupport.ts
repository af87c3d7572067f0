// What the migration tests share: two real PDSes (test/bed/twoPds.ts), an account on the
// old one with records, blobs of several sizes and preferences, the PLC token read from
// the caught mail, and checks of the result on both PDSes and the PLC directory made with
// plain fetch (not pdsctl's own client, so a bug there cannot hide itself).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { crc32, deflateSync } from 'node:zlib'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { SeededAccount, TestBed } from '../../bed/pds.js'
import type { TwoPdses } from '../../bed/twoPds.js'
import { BIN, CLI_NODE, cleanEnv, endStdin, runCli, type CliResult } from '../../helpers/cli.js'

export interface Xrpc {
  status: number
  body: any
  headers: Headers
}

export async function xrpc(url: string, nsid: string, opts: { body?: unknown; bearer?: string; query?: Record<string, string>; raw?: Buffer; type?: string; method?: string } = {}): Promise<Xrpc> {
  const u = new URL(`/xrpc/${nsid}`, url)
  for (const [k, v] of Object.entries(opts.query ?? {})) u.searchParams.set(k, v)
  const headers: Record<string, string> = {}
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`
  let body: Uint8Array | string | undefined
  if (opts.raw) {
    body = new Uint8Array(opts.raw)
    headers['content-type'] = opts.type ?? 'application/octet-stream'
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['content-type'] = 'application/json'
  }
  const res = await fetch(u, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body })
  const type = res.headers.get('content-type') ?? ''
  const parsed = type.includes('json') ? await res.json().catch(() => undefined) : Buffer.from(await res.arrayBuffer())
  return { status: res.status, body: parsed, headers: res.headers }
}

/** The DID document the PLC directory serves now (plain fetch). */
export async function plcDoc(pair: TwoPdses, did: string, suffix = ''): Promise<any> {
  return (await fetch(`${pair.plcUrl}/${did}${suffix}`)).json()
}

export async function login(url: string, identifier: string, password: string): Promise<string> {
  const r = await xrpc(url, 'com.atproto.server.createSession', { body: { identifier, password } })
  if (r.status !== 200) throw new Error(`createSession on ${url}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.accessJwt
}

/**
 * A whole PNG of `size` bytes (a 1×1 image, padded with a private chunk of random bytes):
 * the 0.4.x PDS sniffs uploads with a PNG parser and answers 500 to a PNG cut short or
 * made of random bytes after its signature.
 */
export function blobBytes(size: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length, 0)
    head.write(type, 4, 'latin1')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
    return Buffer.concat([head, data, crc])
  }
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]) // 1×1, 8-bit greyscale
  const fixed = [Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from([0, 0]))), chunk('IEND', Buffer.alloc(0))]
  const base = fixed.reduce((n, b) => n + b.length, 0) + 12
  const pad = chunk('prVt', randomBytes(Math.max(0, size - base)))
  return Buffer.concat([fixed[0], fixed[1], pad, fixed[2], fixed[3]])
}

export interface SeededMigrant extends SeededAccount {
  records: number
  blobs: Array<{ cid: string; size: number }>
}

/**
 * An account on `bed` with `posts` posts (every `blobEvery`-th with an image from `sizes`,
 * cycled) and two preferences.
 */
export async function seedMigrant(bed: TestBed, name: string, opts: { posts?: number; sizes?: number[] } = {}): Promise<SeededMigrant> {
  const account = await bed.createAccount(`${name}${bed.handleDomain}`)
  const jwt = await login(bed.url, account.did, account.password)
  const sizes = opts.sizes ?? [1_000, 40_000, 300_000, 1_200_000]
  const blobs: SeededMigrant['blobs'] = []
  for (const size of sizes) {
    const up = await xrpc(bed.url, 'com.atproto.repo.uploadBlob', { raw: blobBytes(size), type: 'image/png', bearer: jwt })
    if (up.status !== 200) throw new Error(`uploadBlob: ${up.status} ${JSON.stringify(up.body)}`)
    blobs.push({ cid: up.body.blob.ref.$link, size })
    // Posts take images up to 1 MB (0.4.x checks); larger files go in a record of an app's own lexicon.
    const record =
      size <= 900_000
        ? { collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: `image of ${size} bytes`, createdAt: new Date().toISOString(), embed: { $type: 'app.bsky.embed.images', images: [{ alt: '', image: up.body.blob }] } } }
        : { collection: 'com.example.pdsctl.attachment', record: { $type: 'com.example.pdsctl.attachment', file: up.body.blob, createdAt: new Date().toISOString() } }
    const post = await xrpc(bed.url, 'com.atproto.repo.createRecord', { bearer: jwt, body: { repo: account.did, ...record } })
    if (post.status !== 200) throw new Error(`createRecord: ${post.status} ${JSON.stringify(post.body)}`)
  }
  const posts = opts.posts ?? 10
  const writes = Array.from({ length: posts }, (_, i) => ({
    $type: 'com.atproto.repo.applyWrites#create',
    collection: 'app.bsky.feed.post',
    value: { $type: 'app.bsky.feed.post', text: `post ${i}`, createdAt: new Date().toISOString() },
  }))
  for (let i = 0; i < writes.length; i += 200) {
    const w = await xrpc(bed.url, 'com.atproto.repo.applyWrites', { bearer: jwt, body: { repo: account.did, writes: writes.slice(i, i + 200) } })
    if (w.status !== 200) throw new Error(`applyWrites: ${w.status} ${JSON.stringify(w.body)}`)
  }
  const prefs = await xrpc(bed.url, 'app.bsky.actor.putPreferences', {
    bearer: jwt,
    body: { preferences: [{ $type: 'app.bsky.actor.defs#adultContentPref', enabled: true }, { $type: 'app.bsky.actor.defs#savedFeedsPrefV2', items: [] }] },
  })
  if (prefs.status !== 200) throw new Error(`putPreferences: ${prefs.status} ${JSON.stringify(prefs.body)}`)
  return { ...account, records: posts + sizes.length, blobs }
}

/** The PLC token of the newest "PLC Update Operation" mail to `email` after `since` messages. */
export async function plcToken(pair: TwoPdses, email: string, since = 0): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const mails = pair.old.mail.messages.slice(since).filter((m) => m.to.includes(email) && /PLC/i.test(m.subject))
    const last = mails.at(-1)
    const code = last && /\b[A-Z0-9]{5}-[A-Z0-9]{5}\b/.exec(last.text)?.[0]
    if (code) return code
    if (Date.now() > deadline) throw new Error(`no PLC token mailed to ${email}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export function plcMails(pair: TwoPdses, email: string): number {
  return pair.old.mail.messages.filter((m) => m.to.includes(email) && /PLC/i.test(m.subject)).length
}

/** A HOME of its own per migration, so that its state file survives between runs (and is looked at). */
export function migrationHome(): string {
  return mkdtempSync(path.join(tmpdir(), 'pdsctl-migrate-home-'))
}

export interface MigrateRun {
  /** `--from OLD` into NEW (the connected PDS), or `--to NEW` out of OLD. */
  direction: 'in' | 'out'
  home: string
  oldUrl?: string
  newUrl?: string
}

/** pdsctl account migrate, as a user runs it (the old password on stdin, --yes). */
export function migrate(pair: TwoPdses, account: string, run: MigrateRun, args: string[], opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const oldUrl = run.oldUrl ?? pair.old.url
  const newUrl = run.newUrl ?? pair.new.url
  const connected = run.direction === 'in' ? newUrl : oldUrl
  const where = run.direction === 'in' ? ['--from', oldUrl] : ['--to', newUrl]
  return runCli(['account', 'migrate', account, ...where, '--plc-url', pair.plcUrl, ...args], {
    env: { PDS_URL: connected, PDS_ADMIN_PASSWORD: pair.old.adminPassword, HOME: run.home, XDG_CONFIG_HOME: path.join(run.home, '.config'), ...opts.env },
    stdin: opts.stdin,
    timeoutMs: opts.timeoutMs ?? 120_000,
  })
}

/** What both PDSes and the PLC directory say about `did` now. */
export async function observe(pair: TwoPdses, did: string, creds: { oldPassword: string; newPassword?: string }) {
  const doc = await plcDoc(pair, did)
  const data = await plcDoc(pair, did, '/data')
  const oldStatus = (await xrpc(pair.old.url, 'com.atproto.sync.getRepoStatus', { query: { did } })).body
  const newStatus = (await xrpc(pair.new.url, 'com.atproto.sync.getRepoStatus', { query: { did } })).body
  const oldJwt = await login(pair.old.url, did, creds.oldPassword)
  const oldCheck = (await xrpc(pair.old.url, 'com.atproto.server.checkAccountStatus', { bearer: oldJwt })).body
  let newCheck: any
  let newPrefs: any
  let missing: any
  if (creds.newPassword) {
    const newJwt = await login(pair.new.url, did, creds.newPassword)
    newCheck = (await xrpc(pair.new.url, 'com.atproto.server.checkAccountStatus', { bearer: newJwt })).body
    newPrefs = (await xrpc(pair.new.url, 'app.bsky.actor.getPreferences', { bearer: newJwt })).body
    missing = (await xrpc(pair.new.url, 'com.atproto.repo.listMissingBlobs', { bearer: newJwt })).body
  }
  const oldPrefs = (await xrpc(pair.old.url, 'app.bsky.actor.getPreferences', { bearer: oldJwt })).body
  return { doc, data, oldStatus, newStatus, oldCheck, newCheck, oldPrefs, newPrefs, missing }
}

/** The new PDS's public endpoint (what its DID document entries name): http://localhost:PORT on the bed. */
export function publicUrl(bed: TestBed): string {
  return `http://localhost:${bed.port}`
}

export function json<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  }
}

/** The same run, as a child the test can kill at a chosen moment (SIGKILL: no clean-up at all). */
export function startMigrate(pair: TwoPdses, account: string, run: MigrateRun, args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  const oldUrl = run.oldUrl ?? pair.old.url
  const newUrl = run.newUrl ?? pair.new.url
  const connected = run.direction === 'in' ? newUrl : oldUrl
  const where = run.direction === 'in' ? ['--from', oldUrl] : ['--to', newUrl]
  const env = cleanEnv({ PDS_URL: connected, PDS_ADMIN_PASSWORD: pair.old.adminPassword, HOME: run.home, XDG_CONFIG_HOME: path.join(run.home, '.config'), ...opts.env })
  const child = spawn(CLI_NODE, ['--', BIN, 'account', 'migrate', account, ...where, '--plc-url', pair.plcUrl, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  endStdin(child, opts.stdin ?? '')
  const done = new Promise<CliResult>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })))
  return {
    done,
    kill: async () => {
      child.kill('SIGKILL')
      return done
    },
  }
}

/**
 * Run the migration to its end the way a script does: a run, then (when it waits for the
 * PLC token) the token from the caught mail and a second run. Returns every run's result.
 */
export async function finish(pair: TwoPdses, account: SeededAccount, run: MigrateRun, args: string[], stdin: string, env?: Record<string, string>): Promise<CliResult[]> {
  const results: CliResult[] = []
  let token: string[] = []
  for (let i = 0; i < 4; i++) {
    const before = plcMails(pair, account.email)
    const r = await migrate(pair, account.did, run, [...args, ...token, '--json'], { stdin, env })
    results.push(r)
    if (r.code !== 0) return results
    const report = json(r)
    if (report.status === 'done') return results
    if (report.status !== 'waiting-for-token') return results
    token = ['--token', await plcToken(pair, account.email, before === plcMails(pair, account.email) ? 0 : before)]
  }
  return results
}
