// The real-PDS test bed: @atproto/pds with an in-memory PLC directory and an SMTP
// catcher, all in this process on random loopback ports. Used by the tests, the
// sandbox (`npm run sandbox`) and the bench.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import * as pds from '@atproto/pds'
import * as plc from '@did-plc/server'
import { Secp256k1Keypair } from '@atproto/crypto'
import { startMailCatcher, type MailCatcher } from './mail.js'

export interface TestBedOptions {
  /** PDS_INVITE_REQUIRED; off by default so seeding is fast. */
  inviteRequired?: boolean
  /** Let the PDS send mail to the catcher (on by default). */
  email?: boolean
  adminPassword?: string
  /** The version the PDS reports on /xrpc/_health (unset, as a 0.4.x npm PDS does, when undefined). */
  version?: string
  /** The handle domain, with its leading dot. */
  handleDomain?: string
  /** [backup] Switch the PDS's rate limits on (3,000 requests / 5 min per IP), with this bypass key. */
  rateLimitBypassKey?: string
  /** [backup] PDS_BLOB_UPLOAD_LIMIT in bytes (the PDS's default is 5 MB). */
  blobUploadLimit?: number
}

export interface SeededAccount {
  did: string
  handle: string
  email: string
  password: string
}

export interface TestBed {
  url: string
  port: number
  plcUrl: string
  adminPassword: string
  handleDomain: string
  mail: MailCatcher
  pds: pds.PDS
  /** Create `count` accounts named `${prefix}${i}${domain}` (about 50 ms each). */
  seed(count: number, prefix?: string): Promise<SeededAccount[]>
  createAccount(handle: string, opts?: { email?: string; password?: string }): Promise<SeededAccount>
  close(): Promise<void>
}

export async function startTestBed(opts: TestBedOptions = {}): Promise<TestBed> {
  const dataDirectory = await mkdtemp(path.join(tmpdir(), 'pdsctl-bed-'))
  const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: 0 })
  const plcHttp = await plcServer.start()
  const plcPort = (plcHttp.address() as { port: number }).port
  const plcUrl = `http://127.0.0.1:${plcPort}`

  const mail = await startMailCatcher()
  const adminPassword = opts.adminPassword ?? 'admin-' + randomBytes(8).toString('hex')
  const handleDomain = opts.handleDomain ?? '.test'
  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const rotationHex = Buffer.from(await rotationKey.export()).toString('hex')
  const recoveryKey = (await Secp256k1Keypair.create()).did()
  const port = await freePort()
  const smtpUrl = `smtp://127.0.0.1:${mail.port}`
  const env: pds.ServerEnvironment = {
    devMode: true,
    port,
    hostname: 'localhost',
    version: opts.version,
    dataDirectory,
    blobstoreDiskLocation: path.join(dataDirectory, 'blobs'),
    didPlcUrl: plcUrl,
    serviceHandleDomains: [handleDomain],
    recoveryDidKey: recoveryKey,
    adminPassword,
    jwtSecret: randomBytes(16).toString('hex'),
    plcRotationKeyK256PrivateKeyHex: rotationHex,
    inviteRequired: opts.inviteRequired ?? false,
    rateLimitsEnabled: opts.rateLimitBypassKey !== undefined, // [backup]
    rateLimitBypassKey: opts.rateLimitBypassKey, // [backup]
    blobUploadLimit: opts.blobUploadLimit, // [backup]
    crawlers: [],
    disableSsrfProtection: true,
    emailSmtpUrl: opts.email === false ? undefined : smtpUrl,
    emailFromAddress: opts.email === false ? undefined : 'pds@localhost',
    moderationEmailSmtpUrl: smtpUrl,
    moderationEmailAddress: 'moderation@localhost',
    contactEmailAddress: 'admin@localhost',
    privacyPolicyUrl: 'http://localhost/privacy',
    termsOfServiceUrl: 'http://localhost/tos',
  }
  const server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
  await server.start()
  const url = `http://127.0.0.1:${port}`

  const bed: TestBed = {
    url,
    port,
    plcUrl,
    adminPassword,
    handleDomain,
    mail,
    pds: server,
    async createAccount(handle, o = {}) {
      const email = o.email ?? `${handle.split('.')[0]}@example.com`
      const password = o.password ?? 'pw-' + randomBytes(6).toString('hex')
      let inviteCode: string | undefined
      if (opts.inviteRequired) {
        const inv = await xrpc(url, 'com.atproto.server.createInviteCode', { useCount: 1 }, adminPassword)
        inviteCode = inv.code
      }
      const res = await xrpc(url, 'com.atproto.server.createAccount', { handle, email, password, inviteCode })
      return { did: res.did, handle: res.handle, email, password }
    },
    async seed(count, prefix = 'user') {
      const out: SeededAccount[] = []
      // A few in flight at once: the PDS serialises PLC writes anyway, this just hides latency.
      const width = 8
      for (let i = 0; i < count; i += width) {
        const batch = []
        for (let j = i; j < Math.min(count, i + width); j++) {
          batch.push(bed.createAccount(`${prefix}${j}${handleDomain}`))
        }
        out.push(...(await Promise.all(batch)))
      }
      return out
    },
    async close() {
      await server.destroy()
      await plcServer.destroy()
      await mail.close()
      await rm(dataDirectory, { recursive: true, force: true })
    },
  }
  return bed
}

/** A plain XRPC call for seeding: the test bed does not use pdsctl's own client. */
export async function xrpc(url: string, nsid: string, body?: unknown, adminPassword?: string): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (adminPassword) headers.authorization = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64')
  const res = await fetch(`${url}/xrpc/${nsid}`, { method: 'POST', headers, body: JSON.stringify(body ?? {}) })
  const json: any = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(`${nsid}: ${res.status} ${json.error ?? ''} ${json.message ?? ''}`)
  return json
}

export async function freePort(): Promise<number> {
  const net = await import('node:net')
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}
