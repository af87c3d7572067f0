// A real forward proxy for the proxy tests: tinyproxy (Debian's, fetched into .tools/ by
// scripts/tinyproxy.sh), started per test on a free loopback port, optionally demanding
// Basic authentication or allowing CONNECT to some ports only. In front of it a byte
// recorder sees every byte pdsctl sends the proxy, so a test can prove a secret never
// crossed it in the clear.
//
// Loopback is never proxied (pdsctl, like Go's tools), so the servers behind the proxy are
// named by 0.0.0.0: not a loopback address to pdsctl, and a connection to it from the proxy
// reaches a server listening on 127.0.0.1 (Linux routes 0.0.0.0 to the local host). The TLS
// front's certificate is for IP 0.0.0.0, trusted through NODE_EXTRA_CA_CERTS.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ROOT } from '../helpers/cli.js'
import { freePort } from './pds.js'
import { passUpgrade } from './lying.js'
import type { Duplex } from 'node:stream'

export const TINYPROXY = path.join(ROOT, '.tools/tinyproxy/usr/bin/tinyproxy')

export interface ForwardProxyOptions {
  /** Demand Basic authentication with these credentials (tinyproxy's BasicAuth). */
  auth?: { user: string; password: string }
  /** Allow CONNECT to these ports only (tinyproxy's ConnectPort; default: every port). */
  connectPorts?: number[]
  /** The port tinyproxy tries first (its tests hold it to see it choose another); default: a free one. */
  firstPort?: number
}

export interface ForwardProxy {
  /** http://127.0.0.1:PORT: the recorder in front of tinyproxy. */
  url: string
  port: number
  /** Every byte clients sent towards the proxy, as latin1 text. */
  received(): string
  /** tinyproxy's log (CONNECT lines name each tunnel's target). */
  log(): string
  close(): Promise<void>
}

export async function startForwardProxy(opts: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  if (!existsSync(TINYPROXY)) throw new Error(`${TINYPROXY} is missing: run scripts/tinyproxy.sh (scripts/dev.sh test does)`)
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-tinyproxy-'))
  const logFile = path.join(dir, 'log')
  let started: { child: ChildProcess; port: number } | undefined
  try {
    // The port is chosen before tinyproxy binds it: another socket may take it in between.
    // Then tinyproxy exits (it cannot bind), or, were the other a server that answers, the
    // check below finds it is not this tinyproxy: either way, again on another port.
    for (let attempt = 1; !started; attempt++) {
      const port = attempt === 1 && opts.firstPort ? opts.firstPort : await freePort()
      const { child, token } = startTinyproxy(dir, port, logFile, opts)
      const outcome = await waitForTinyproxy(port, child, token, opts.auth)
      if (outcome === 'ours') started = { child, port }
      else {
        await stopChild(child)
        if (attempt === 5) throw new Error(`tinyproxy could not start: port ${port} ${outcome === 'taken' ? 'answered for another server' : 'could not be bound'}, 5 ports tried`)
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const { child, port } = started

  // The recorder: a TCP pass-through that keeps what clients send.
  const sent: Buffer[] = []
  const sockets = new Set<net.Socket>()
  const front = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.on('data', (c: Buffer) => sent.push(c))
    client.pipe(upstream).pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
  const frontPort = (front.address() as net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${frontPort}`,
    port: frontPort,
    received: () => Buffer.concat(sent).toString('latin1'),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => front.close(() => r()))
      await stopChild(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** tinyproxy on `port`, with a stats page only this instance serves: its host and its text name a random token. */
function startTinyproxy(dir: string, port: number, logFile: string, opts: ForwardProxyOptions): { child: ChildProcess; token: string } {
  const token = randomBytes(8).toString('hex')
  const statsFile = path.join(dir, 'stats.html')
  writeFileSync(statsFile, `${statsText(token)}\n`)
  const conf = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'Allow 127.0.0.1',
    'LogLevel Connect',
    `LogFile "${logFile}"`,
    'DisableViaHeader Yes',
    `StatHost "${statHost(token)}"`,
    `StatFile "${statsFile}"`,
    ...(opts.auth ? [`BasicAuth ${opts.auth.user} ${opts.auth.password}`] : []),
    ...(opts.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ].join('\n')
  writeFileSync(path.join(dir, 'tinyproxy.conf'), conf + '\n')
  return { child: spawn(TINYPROXY, ['-d', '-c', path.join(dir, 'tinyproxy.conf')], { stdio: 'ignore' }), token }
}

const statHost = (token: string) => `pdsctl-bed-${token}.invalid`
const statsText = (token: string) => `pdsctl test bed tinyproxy ${token}`

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

/**
 * Until `port` answers: 'ours' when it is the tinyproxy started with `token` (its stats page,
 * asked for by the host only its configuration names, says the token; BasicAuth or not),
 * 'taken' when another server answers there (another tinyproxy would try to proxy that
 * host), 'exited' when tinyproxy ended (it exits when it cannot bind the port).
 */
export async function waitForTinyproxy(port: number, child: ChildProcess, token: string, auth?: { user: string; password: string }): Promise<'ours' | 'taken' | 'exited'> {
  // With BasicAuth, tinyproxy asks for it on its stats page too.
  const credentials = auth ? `Proxy-Authorization: Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}\r\n` : ''
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited'
    const answer = await new Promise<string | undefined>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      let text = ''
      s.setTimeout(2000, () => s.destroy())
      const host = statHost(token)
      s.once('connect', () => s.write(`GET http://${host}/ HTTP/1.0\r\nHost: ${host}\r\n${credentials}\r\n`))
      s.on('data', (c: Buffer) => (text += c.toString('latin1')))
      s.once('error', () => resolve(undefined))
      s.once('close', () => resolve(text))
    })
    // Nothing answered (refused, or closed before a word): tinyproxy is not listening yet.
    if (answer) {
      // The stats page: 200, tinyproxy's Server header, the token. Anything else is not ours.
      if (/^HTTP\/1\.[01] 200 /.test(answer) && /\r\nServer: tinyproxy\//i.test(answer) && answer.includes(statsText(token))) return 'ours'
      // Our tinyproxy may exit a moment later (the other server got the port first).
      return child.exitCode !== null ? 'exited' : 'taken'
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('tinyproxy did not start listening')
}

// A self-signed certificate for IP 0.0.0.0 (P-256, valid to 2126), made once with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
// -subj /CN=pdsctl-proxy-test -addext subjectAltName=IP:0.0.0.0`. Trusted only by the test's
// NODE_EXTRA_CA_CERTS.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgy9DcRnbqyfe6TYTy
vkBQavCIEHjqE+Gm+0kYO6vHndOhRANCAAQhPUcfRlk5gWCplYVuAVBoYAXmFszG
Ln2SI3UpldjZVfj4ffMJm4ITL+q1vMkyAnYUX4HLlaLuoj1A+XAL1/Ig
-----END PRIVATE KEY-----
`
export const ZERO_ADDRESS_CERT = `-----BEGIN CERTIFICATE-----
MIIBoTCCAUagAwIBAgIUaj8of6cBJSAep3o8MiUl65VUloowCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRcGRzY3RsLXByb3h5LXRlc3QwIBcNMjYxMjAxMTkxNzQzWhgP
MjEyNjExMDcxOTE3NDNaMBwxGjAYBgNVBAMMEXBkc2N0bC1wcm94eS10ZXN0MFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIT1HH0ZZOYFgqZWFbgFQaGAF5hbMxi59
kiN1KZXY2VX4+H3zCZuCEy/qtbzJMgJ2FF+By5Wi7qI9QPlwC9fyIKNkMGIwHQYD
VR0OBBYEFEUgB34jiDr2wXvfkUwsdru7HnjfMB8GA1UdIwQYMBaAFEUgB34jiDr2
wXvfkUwsdru7HnjfMA8GA1UdEwEB/wQFMAMBAf8wDwYDVR0RBAgwBocEAAAAADAK
BggqhkjOPQQDAgNJADBGAiEA360qzDRp41zMOq78oa/rndWTTQl3DQW5M4Aj8VFs
k+cCIQDo58W08hUFhAbQqDdB1tvmVwK5c6x90YLvslnAV+MG+w==
-----END CERTIFICATE-----
`

export interface TlsFront {
  /** https://0.0.0.0:PORT: reachable only through a proxy (or directly on this machine). */
  url: string
  port: number
  /** A file holding the certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string
  close(): Promise<void>
}

/** An https server on loopback, certificate for 0.0.0.0, that forwards every request to `upstream` (a PDS, a relay stand-in). */
export async function startTlsFront(upstream: string): Promise<TlsFront> {
  const target = new URL(upstream)
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-tlsfront-'))
  const caFile = path.join(dir, 'ca.pem')
  writeFileSync(caFile, ZERO_ADDRESS_CERT)
  const agent = new http.Agent({ keepAlive: true })
  const server = https.createServer({ key: KEY, cert: ZERO_ADDRESS_CERT }, (req, res) => {
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  // WebSocket upgrades (the firehose) pass through byte for byte.
  const upgraded = new Set<Duplex>()
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => passUpgrade(req, socket, head, target, upgraded))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: `https://0.0.0.0:${port}`,
    port,
    caFile,
    close: async () => {
      agent.destroy()
      for (const s of upgraded) s.destroy()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
