// What every command owes its caller whatever happens around it: SIGINT/SIGTERM end a
// command stuck in a request at once, a closed stdout ends it quietly, --json stays one
// document, --env-file is pdsctl's (not Node's), TLS cannot be switched off from the
// environment, a context's stored password goes only to that context's PDS, and an
// interrupted prompt is "interrupted". Run through the real binary, as a user would.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { BIN, CLI_NODE, ROOT, cleanEnv, runCli } from '../helpers/cli.js'
import { json, startRecorder, type Recorder } from '../helpers/recorder.js'
import { runPty } from '../helpers/pty.js'
import { noKubectlLeft } from '../helpers/processes.js'
import { startFakeKube } from '../bed/fakeKube.js'

const tmp = mkdtempSync(path.join(tmpdir(), 'pdsctl-base-test-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

/** Start pdsctl, wait until `ready` resolves, send `signal`; exit code, output and how long it took to end. */
async function interrupt(args: string[], env: Record<string, string>, ready: Promise<unknown>, signal: NodeJS.Signals) {
  const child = spawn(CLI_NODE, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  await ready
  const sent = Date.now()
  child.kill(signal)
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
  const code = await closed
  clearTimeout(killer)
  return { code, stdout, stderr, ms: Date.now() - sent }
}

describe('signals end a command stuck in a request', () => {
  let hang: net.Server
  let port: number
  let connected: () => void
  let connectedP: Promise<void>
  before(async () => {
    hang = net.createServer((s) => {
      sockets.add(s)
      connected()
    })
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r))
    port = (hang.address() as net.AddressInfo).port
  })
  const sockets = new Set<net.Socket>()
  after(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((r) => hang.close(() => r()))
  })
  const arm = () => (connectedP = new Promise<void>((r) => (connected = r)))

  for (const [signal, expected] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    test(`${signal} during a request that never answers (--timeout of a month): exit ${expected} within 1 s, nothing printed`, async () => {
      arm()
      const res = await interrupt(['health', '--url', `http://127.0.0.1:${port}`, '--timeout', '3000000'], {}, connectedP, signal)
      assert.equal(res.code, expected, res.stderr)
      assert.ok(res.ms < 1000, `took ${res.ms} ms`)
      assert.equal(res.stdout, '')
      assert.doesNotMatch(res.stderr, /Warning|unsettled|internal/)
    })
  }

  test('through a kubectl port-forward: SIGTERM ends the command within 1 s and kubectl with it', async () => {
    const k = await startFakeKube({ backendPort: port })
    try {
      arm()
      const res = await interrupt(['health', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky', '--timeout', '3000000'], k.env, connectedP, 'SIGTERM')
      assert.equal(res.code, 143, res.stderr)
      assert.ok(res.ms < 1000, `took ${res.ms} ms`)
      assert.deepEqual(await noKubectlLeft(k.cacheDir), [], 'no kubectl survives')
    } finally {
      await k.close()
    }
  })

  test('an admin listing stuck mid-way ends on SIGTERM too, under --json', async () => {
    arm()
    const res = await interrupt(['account', 'list', '--json', '--url', `http://127.0.0.1:${port}`], { PDS_ADMIN_PASSWORD: 'x' }, connectedP, 'SIGTERM')
    assert.equal(res.code, 143)
    assert.ok(res.ms < 1000, `took ${res.ms} ms`)
  })
})

describe('output plumbing', () => {
  let srv: Recorder
  before(async () => {
    srv = await startRecorder((q, res) => {
      if (q.url.startsWith('/xrpc/com.atproto.sync.listRepos')) {
        if (q.url.includes('cursor=c1')) return res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded')
        return json(res, 200, { cursor: 'c1', repos: [{ did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', head: 'h', rev: 'r', active: true }] })
      }
      if (q.url.startsWith('/xrpc/com.atproto.admin.getAccountInfos')) {
        return json(res, 200, { infos: [{ did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', handle: 'a.test', indexedAt: '2026-01-01T00:00:00.000Z' }] })
      }
      if (q.url.startsWith('/xrpc/_health')) return json(res, 200, { version: '0.4.0' })
      if (q.url.startsWith('/xrpc/com.atproto.server.describeServer')) return json(res, 200, { did: 'did:web:x', availableUserDomains: ['.test'] })
      json(res, 404, { error: 'MethodNotImplemented' })
    })
  })
  after(() => srv.close())

  test('--json after a failure on page 2: stdout is still one JSON document, the error is on stderr and in the exit code', async () => {
    const res = await runCli(['account', 'list', '--json', '--url', srv.url], { env: { PDS_ADMIN_PASSWORD: 'x' } })
    assert.equal(res.code, 1, res.stderr)
    const doc = JSON.parse(res.stdout) as unknown
    assert.ok(Array.isArray(doc) || (typeof doc === 'object' && doc !== null && 'error' in doc), res.stdout)
    const lines = res.stderr.trim().split('\n')
    assert.equal(lines.length, 1, res.stderr)
    assert.match(lines[0], /^Error: com\.atproto\.sync\.listRepos: HTTP 500 .*text\/plain: "upstream exploded"/)
  })

  test('a reader that goes away (| head) ends pdsctl quietly with exit 0', async () => {
    for (const args of [['--help'], ['account', 'list', '--url', srv.url], ['health', '--url', srv.url]]) {
      const child = spawn(CLI_NODE, [BIN, ...args], { cwd: ROOT, env: cleanEnv({ PDS_ADMIN_PASSWORD: 'x' }), stdio: ['ignore', 'pipe', 'pipe'] })
      child.stdout.destroy() // the reader is gone before the first byte
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
      assert.equal(code, 0, `${args.join(' ')}: ${stderr}`)
      assert.doesNotMatch(stderr, /EPIPE|Error|Warning|unsettled/, args.join(' '))
    }
  })
})

describe('--env-file belongs to pdsctl, through the real binary (shebang) and node', () => {
  let srv: Recorder
  before(async () => {
    srv = await startRecorder((q, res) => {
      if (q.url.startsWith('/xrpc/_health')) return json(res, 200, {})
      if (q.url.startsWith('/xrpc/com.atproto.server.describeServer')) return json(res, 200, { did: 'did:web:x', availableUserDomains: ['.test'] })
      json(res, 404, { error: 'NotFound' })
    })
  })
  after(() => srv.close())

  function runBin(args: string[], env: Record<string, string> = {}) {
    // Executed directly: the kernel reads the shebang, as for the installed `pdsctl`.
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(BIN, args, { cwd: tmp, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })
  }

  test('a missing file, in both forms: pdsctl says so (exit 2), not Node (exit 9)', async () => {
    for (const args of [['--env-file', '/nope/pds.env'], ['--env-file=/nope/pds.env']]) {
      const res = await runBin(['health', ...args])
      assert.equal(res.code, 2, res.stderr)
      assert.match(res.stderr, /^Error: cannot read env file \/nope\/pds\.env \(ENOENT\)/)
      assert.doesNotMatch(res.stderr, /^node:/m)
    }
  })

  test('a directory: pdsctl says so (exit 2), not "invalid format"', async () => {
    const dir = path.join(tmp, 'a-dir')
    mkdirSync(dir, { recursive: true })
    const res = await runBin(['health', '--env-file', dir])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /cannot read env file .*a-dir \(EISDIR\)/)
  })

  test('an existing file is read as data, with the documented precedence (the environment beats the file)', async () => {
    const file = path.join(tmp, 'pds.env')
    // If Node loaded this file into process.env, PDS_URL would beat PDS_HOST below and
    // the command would go to port 1 (refused).
    writeFileSync(file, 'PDS_URL=http://127.0.0.1:1\n')
    for (const run of [
      () => runBin(['health', '--json', '--env-file', file], { PDS_HOST: srv.url }),
      () => runBin(['health', '--json', `--env-file=${file}`], { PDS_HOST: srv.url }),
      () => runCli(['health', '--json', '--env-file', file], { env: { PDS_HOST: srv.url } }),
    ]) {
      const res = await run()
      assert.equal(res.code, 0, res.stderr)
      assert.equal((JSON.parse(res.stdout) as { url: string }).url, srv.url)
    }
  })
})

describe('TLS and where credentials may go', () => {
  let tls: https.Server
  let tlsUrl: string
  let tlsRequests = 0
  let a: Recorder
  let b: Recorder
  before(async () => {
    const key = path.join(tmp, 'key.pem')
    const cert = path.join(tmp, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    tls = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
      tlsRequests++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r))
    tlsUrl = `https://127.0.0.1:${(tls.address() as net.AddressInfo).port}`
    a = await startRecorder((q, res) =>
      q.url.startsWith('/xrpc/com.atproto.sync.listRepos')
        ? json(res, 200, { repos: [{ did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', head: 'h', rev: 'r', active: true }] })
        : json(res, 200, { infos: [] }),
    )
    // B hosts one account, so listing it needs the admin password (getAccountInfos).
    b = await startRecorder((q, res) =>
      q.url.startsWith('/xrpc/com.atproto.sync.listRepos')
        ? json(res, 200, { repos: [{ did: 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb', head: 'h', rev: 'r', active: true }] })
        : json(res, 200, { infos: [] }),
    )
  })
  after(async () => {
    await new Promise<void>((r) => tls.close(() => r()))
    await a.close()
    await b.close()
  })

  test('NODE_TLS_REJECT_UNAUTHORIZED=0 does not turn certificate checks off; pdsctl says it ignores it', async () => {
    const res = await runCli(['account', 'list', '--url', tlsUrl], { env: { NODE_TLS_REJECT_UNAUTHORIZED: '0', PDS_ADMIN_PASSWORD: 'secret-pw' } })
    assert.equal(res.code, 1, res.stderr)
    assert.match(res.stderr, /NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: pdsctl always verifies TLS/)
    assert.match(res.stderr, /TLS certificate of 127\.0\.0\.1:\d+ is not trusted/)
    assert.equal(tlsRequests, 0, 'no request (and no password) reached the self-signed server')
    assert.doesNotMatch(res.stderr, /secret-pw|makes TLS connections and HTTPS requests insecure/)
  })

  test('a password stored in a context goes only to that context\'s PDS: another --url or PDS_URL is exit 2 when it is needed, and never sent', async () => {
    const home = mkdtempSync(path.join(tmp, 'home-'))
    const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') }
    const add = await runCli(['context', 'add', 'prod', '--url', a.url, '--store-admin-password', '--use'], { env, stdin: 'stored-pw' })
    assert.equal(add.code, 0, add.stderr)
    a.requests.length = 0
    b.requests.length = 0
    for (const res of [
      await runCli(['account', 'list', '--url', b.url], { env }),
      await runCli(['account', 'list'], { env: { ...env, PDS_URL: b.url } }),
    ]) {
      assert.equal(res.code, 2, res.stderr)
      assert.match(res.stderr, new RegExp(`the admin password of the saved context is for ${a.url.replace(/\./g, '\\.')}, not ${b.url.replace(/\./g, '\\.')}`))
    }
    assert.ok(b.requests.length > 0 && b.requests.every((r) => r.headers.authorization === undefined), 'B never saw a credential')
    assert.ok(b.requests.every((r) => !r.url.includes('getAccountInfos')), 'no admin call was sent to B')
    // A command that needs no admin password may still go elsewhere.
    assert.equal((await runCli(['health', '--url', b.url], { env })).code !== 2, true)
    // The context's own PDS still gets it.
    const ok = await runCli(['account', 'list', '--json'], { env })
    assert.equal(ok.code, 0, ok.stderr)
    const adminCall = a.requests.find((r) => r.url.includes('getAccountInfos'))
    assert.equal(adminCall?.headers.authorization, 'Basic ' + Buffer.from('admin:stored-pw').toString('base64'))
  })
})

describe('an interrupted prompt is "interrupted" (exit 130), on a real terminal', () => {
  let srv: Recorder
  before(async () => {
    // One account: listing it needs the admin password, which nothing gives: a prompt.
    srv = await startRecorder((q, res) =>
      q.url.startsWith('/xrpc/com.atproto.sync.listRepos')
        ? json(res, 200, { repos: [{ did: 'did:plc:cccccccccccccccccccccccc', head: 'h', rev: 'r', active: true }] })
        : json(res, 200, { infos: [] }),
    )
  })
  after(() => srv.close())

  for (const [key, name] of [['\x03', 'Ctrl-C'], ['\x04', 'Ctrl-D']] as const) {
    test(`${name} at the hidden admin-password prompt`, async () => {
      const pty = runPty(['account', 'list', '--url', srv.url])
      await pty.waitFor(/Admin password/)
      pty.write(key)
      const code = await pty.exited
      assert.equal(code, 130, pty.screen)
      assert.match(pty.screen, /interrupted/)
      assert.doesNotMatch(pty.screen, /request|network|unsettled|Warning/i)
      assert.ok(srv.requests.every((r) => !r.url.includes('getAccountInfos')), 'nothing was sent after the prompt')
    })
  }
})
