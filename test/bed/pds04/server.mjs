// A real @atproto/pds 0.4.x for the test bed, run as a child process on Node 22 by
// test/bed/pds.ts (`startTestBed({ line: '0.4' })`): an in-memory PLC directory and the
// PDS, both on 127.0.0.1 only. Configuration comes in as one JSON argument; when both
// are listening it prints one JSON line `{url, port, plcUrl, adminPassword, version, dataDirectory}`
// on stdout. It stops (and deletes its data) on SIGTERM, SIGINT, or when stdin closes, so a
// parent that dies never leaves it behind. Lines on stdin are commands, each answered with one
// JSON line `{ok, error?}`: `stop-pds` stops the PDS alone (its HTTP server and databases
// closed, as a stopped PDS process leaves them; PLC keeps running), `start-pds` starts it
// again on the same data directory and port, and `{"restart": {hostname, handleDomain}}`
// restarts it under that hostname on the same data, PLC and port.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import module, { createRequire } from 'node:module'

// V8's compile cache (Node's documented module.enableCompileCache) in the run's temporary
// folder: a test run starts ~17 of these beds a pass, each loading @atproto/pds 0.4.x, and a
// warm cache saves ~0.3 CPU-s a bed (a test process starting 4 beds: 9.2–9.5 CPU-s in all
// against 10.1–10.8 without it).
module.enableCompileCache?.(path.join(tmpdir(), 'pdsctl-bed04-compile-cache'))
const require = createRequire(import.meta.url)
const pds = require('@atproto/pds-04')
const plc = require('@did-plc/server')
const { Secp256k1Keypair } = require('@atproto/crypto')

const opts = JSON.parse(process.argv[2] ?? '{}')

/** Make an express app's listen() bind to loopback only (the packages bind every interface). */
function loopbackOnly(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, '127.0.0.1', ...rest)
}

let stopping
async function stop(code = 0) {
  stopping ??= (async () => {
    try {
      await server?.destroy()
    } catch {}
    try {
      await plcServer?.destroy()
    } catch {}
    if (dataDirectory) await rm(dataDirectory, { recursive: true, force: true }).catch(() => {})
    process.exit(code)
  })()
  return stopping
}
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
process.stdin.on('end', () => stop(0))
process.stdin.on('error', () => stop(0))
let pending = ''
let commands = Promise.resolve()
process.stdin.setEncoding('utf8').on('data', (d) => {
  pending += d
  for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
    const cmd = pending.slice(0, nl).trim()
    pending = pending.slice(nl + 1)
    commands = commands.then(() => runCommand(cmd))
  }
})
process.stdin.resume()

async function runCommand(cmd) {
  const reply = (o) => process.stdout.write(JSON.stringify(o) + '\n')
  try {
    if (cmd.startsWith('{')) {
      const o = JSON.parse(cmd).restart
      if (server) await server.destroy()
      env = { ...env, hostname: o.hostname, serviceHandleDomains: [o.handleDomain] }
      const s = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
      loopbackOnly(s.app)
      await s.start()
      server = s
      return reply({ ok: true })
    }
    if (cmd === 'stop-pds') {
      if (server) {
        const s = server
        server = undefined
        await s.destroy()
        // destroy() leaves the sequencer's database open (a PDS process would exit here).
        await s.ctx.sequencer.db?.db?.destroy()
      }
      return reply({ ok: true })
    }
    if (cmd === 'start-pds') {
      if (!server) {
        const s = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
        loopbackOnly(s.app)
        await s.start()
        server = s
      }
      return reply({ ok: true })
    }
    reply({ ok: false, error: `unknown command ${JSON.stringify(cmd)}` })
  } catch (err) {
    reply({ ok: false, error: String(err?.stack ?? err) })
  }
}

let server, plcServer, dataDirectory, env
try {
  dataDirectory = await mkdtemp(path.join(tmpdir(), 'pdsctl-bed04-'))
  // Another bed's PLC directory when given (two PDSes sharing identities, for migrations).
  let plcUrl = opts.plcUrl
  if (!plcUrl) {
    plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: 0 })
    loopbackOnly(plcServer.app)
    const plcHttp = await plcServer.start()
    plcUrl = `http://127.0.0.1:${plcHttp.address().port}`
  }

  const rotationHex = opts.rotationKeyHex ?? Buffer.from(await (await Secp256k1Keypair.create({ exportable: true })).export()).toString('hex')
  const recoveryKey = opts.recoveryDidKey ?? (await Secp256k1Keypair.create()).did()
  const smtpUrl = opts.smtpUrl
  const adminPassword = opts.adminPassword ?? 'admin-' + randomBytes(8).toString('hex')
  env = {
    devMode: true,
    port: opts.port,
    hostname: opts.hostname ?? 'localhost',
    serviceDid: opts.serviceDid,
    acceptingImports: opts.acceptingImports,
    version: opts.version,
    dataDirectory,
    blobstoreDiskLocation: path.join(dataDirectory, 'blobs'),
    // The PDS's DID resolver refuses IP hosts: localhost lets it resolve DIDs (service auth).
    didPlcUrl: opts.plcByName ? plcUrl.replace('//127.0.0.1:', '//localhost:') : plcUrl,
    // A PDS serves preferences itself only when it has an App View (here a placeholder).
    ...(opts.preferences ? { bskyAppViewUrl: 'http://localhost:9', bskyAppViewDid: 'did:web:appview.localhost' } : {}),
    serviceHandleDomains: [opts.handleDomain ?? '.test'],
    recoveryDidKey: recoveryKey,
    adminPassword,
    jwtSecret: opts.jwtSecret ?? randomBytes(16).toString('hex'),
    plcRotationKeyK256PrivateKeyHex: rotationHex,
    inviteRequired: opts.inviteRequired ?? false,
    rateLimitsEnabled: opts.rateLimitBypassKey !== undefined,
    rateLimitBypassKey: opts.rateLimitBypassKey,
    blobUploadLimit: opts.blobUploadLimit,
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
  server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
  loopbackOnly(server.app)
  const http = await server.start()
  const port = http.address().port
  const pkg = JSON.parse(await readFile(new URL('./node_modules/@atproto/pds-04/package.json', import.meta.url), 'utf8'))
  const version = pkg.version
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}`, port, plcUrl, adminPassword, version, dataDirectory }) + '\n')
} catch (err) {
  process.stderr.write(`pds04 server: ${err?.stack ?? err}\n`)
  await stop(1)
}
