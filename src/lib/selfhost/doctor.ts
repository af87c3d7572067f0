// `pdsctl doctor`: the checks to run after deploying a PDS, each pass / warn / fail with
// the fix. Every probe is a real request to the PDS (or a relay); nothing is inferred
// from a version number.
import { createHmac, randomBytes } from 'node:crypto'
import { PdsctlError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { relayChecks } from '../federation/relayCheck.js'
import { judgeHealthAnswer } from '../pds/health.js'
import { PdsctlWebSocket } from '../pds/webSocket.js'

export type CheckStatus = 'pass' | 'warn' | 'fail'

/** One check (the documented JSON shape: `checks[]` of `pdsctl doctor --json`). */
export interface Check {
  id: string
  status: CheckStatus
  message: string
  fix?: string
}

export interface DoctorReport {
  publicUrl: string
  /** false when any check failed (warnings do not count). */
  ok: boolean
  checks: Check[]
}

export interface DoctorInput {
  /** A client for the PDS's public URL (what users and relays reach). */
  publicClient: PdsClient
  /** A client through the port-forward, when one is configured. */
  forwardClient?: PdsClient
  /** The hostname relays are asked about (PDS_HOSTNAME, else the public URL's host). */
  hostname: string
  /** Relays to ask (PDS_CRAWLERS, else https://bsky.network); relays get no credentials. */
  relays: PdsClient[]
  /** PDS_JWT_SECRET (env file or Secret), for the body-less POST probe; never sent anywhere. */
  jwtSecret?: string
  /** How the email configuration was found, when it was: where it came from and the values. */
  emailConfig?: { source: string; smtpUrl?: string; fromAddress?: string }
  timeoutMs?: number
  /** A client that may use the admin password (for the firehose check's test event); null when none is available without a prompt. */
  adminClient?: PdsClient | null
  /** --debug: the WebSockets' lines (the XRPC clients have their own). */
  debug?: (line: string) => void
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const checks: Check[] = []
  const pub = input.publicClient
  const version = await checkHealth(pub, 'public', checks)
  if (input.forwardClient) {
    const fwdVersion = await checkHealth(input.forwardClient, 'port-forward', checks)
    if (version !== undefined && fwdVersion !== undefined) {
      checks.push(
        version === fwdVersion
          ? { id: 'same-version', status: 'pass', message: `the public URL and the pod report the same version (${version ?? 'none reported'})` }
          : {
              id: 'same-version',
              status: 'fail',
              message: `the public URL reports ${version ?? 'no version'} but the pod reports ${fwdVersion ?? 'no version'}`,
              fix: 'The public URL is not reaching this pod: check the tunnel/ingress target, or whether an old Deployment still runs',
            },
      )
    }
  }
  if (version === undefined) {
    // Nothing else can be judged through a URL that does not answer.
    return { publicUrl: pub.url, ok: false, checks }
  }
  checks.push(await checkBodylessPost(pub, input.jwtSecret, version))
  const ws = await checkWebSocket(pub.url, input.timeoutMs ?? 10_000, input.debug)
  checks.push(ws)
  const afterWs = checks.length
  checks.push(...(await checkDescribeServer(pub)))
  checks.push(checkEmail(input.emailConfig))
  checks.push(...(await relayChecks(input.relays, input.hostname, input.forwardClient ?? pub)))
  if (ws.status === 'pass') {
    // Last, so that the relays are compared with the PDS's seq before this check's own event;
    // listed next to the websocket check.
    const { checkFirehoseEvent } = await import('./firehoseCheck.js')
    checks.splice(afterWs, 0, await checkFirehoseEvent({ publicUrl: pub.url, admin: input.adminClient ?? null, debug: input.debug }))
  }
  return { publicUrl: pub.url, ok: !checks.some((c) => c.status === 'fail'), checks }
}

/** Returns the reported version (null when none), or undefined when the PDS did not answer. */
async function checkHealth(client: PdsClient, where: 'public' | 'port-forward', checks: Check[]): Promise<string | null | undefined> {
  const id = where === 'public' ? 'public-health' : 'forward-health'
  const label = where === 'public' ? `the public URL ${client.url}` : `the pod through the port-forward (${client.target.description})`
  try {
    const res = await client.send({ method: 'GET', path: '/xrpc/_health', name: '_health' })
    const { version, problem } = judgeHealthAnswer(res)
    if (!problem) {
      checks.push({ id, status: 'pass', message: `${label} answers /xrpc/_health (${version ? `version ${version}` : 'no version reported'}, ${res.ms} ms)` })
      return version
    }
    checks.push({
      id,
      status: 'fail',
      message: `${label}: ${problem}`,
      fix: res.status === 200 ? 'Exempt /xrpc/ from the login or proxy in front of the PDS' : res.status >= 500 ? 'Check the PDS logs (`kubectl logs`) and its database volume' : 'Is this URL really the PDS?',
    })
  } catch (err) {
    checks.push({
      id,
      status: 'fail',
      message: `${label} does not answer: ${err instanceof PdsctlError ? err.message : String(err)}`,
      fix: where === 'public' ? 'Check DNS, the tunnel or ingress, and the TLS certificate for this hostname' : 'Check that the pod is Running',
    })
  }
  return undefined
}

const BODY_TRAP = /A request body was provided when none was expected/i

/**
 * The body-less POST check: does a POST with an empty body (`Content-Length: 0`, as the
 * apps send requestEmailConfirmation and friends) reach the PDS in a form it accepts?
 * cloudflared (without `disableChunkedEncoding`) re-frames it as `Transfer-Encoding:
 * chunked` with an empty body; PDS 0.4.x then answers 400 "A request body was provided
 * when none was expected", which is why "verify email" fails behind a Cloudflare tunnel.
 *
 * Why the probe is authenticated (read from both servers' sources, and measured on a real
 * 0.4.217 and 0.5.x: every procedure, anonymous and with the admin password, answers the
 * same to `Content-Length: 0` and to an empty chunked body):
 * - xrpc-server verifies auth BEFORE the input, on both lines, so an anonymous probe of a
 *   body-less procedure always gets 401 AuthMissing, re-framed or not;
 * - only procedures WITHOUT input look at the framing (0.4 rejects any Transfer-Encoding;
 *   0.5 reads the chunked body and accepts it when empty), and every one of them needs an
 *   account session; the admin password opens none of them;
 * - procedures with input treat an empty body the same however it is framed.
 * So the probe is com.atproto.server.deleteSession, sent as the apps send it, with a refresh
 * token signed here with the PDS's PDS_JWT_SECRET: already expired (deleteSession accepts
 * expired refresh tokens, nothing else does), for a session id that does not exist, so the
 * PDS deletes nothing. The token is built in memory, sent only to the PDS, never logged.
 * 200 = the POST arrived as the PDS accepts it; 400 with the message above = re-framed.
 * A 0.5.x PDS accepts the re-framed form too, so behind a re-framing tunnel it passes here
 * (body-less POSTs work there); the same tunnel in front of a 0.4.x PDS fails.
 * Without the secret (no env file or Secret) the check can only warn.
 */
async function checkBodylessPost(client: PdsClient, jwtSecret: string | undefined, pdsVersion: string | null): Promise<Check> {
  const id = 'bodyless-post'
  const trapped = (body: unknown) => typeof body === 'object' && body !== null && BODY_TRAP.test(String((body as { message?: unknown }).message ?? ''))
  const reframed: Check = {
    id,
    status: 'fail',
    message: 'a body-less POST reached the PDS with a body: the proxy in front of it re-frames it as chunked (this breaks "verify email" and the other body-less calls)',
    fix: 'For a Cloudflare tunnel set `disableChunkedEncoding: true` under originRequest in cloudflared\'s config (or the dashboard\'s "Disable Chunked Encoding"); meanwhile `pdsctl email confirm --kube-*` works around it',
  }
  const waf = (status: number, body: unknown): Check | undefined =>
    status === 403 && !(typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string')
      ? { id, status: 'fail', message: 'a body-less POST was refused with HTTP 403 by something in front of the PDS', fix: 'Check WAF / proxy rules for POSTs to /xrpc/*' }
      : undefined
  try {
    if (!jwtSecret) {
      // Anonymous: can still see a WAF that blocks POSTs, never the re-framing (see above).
      const res = await client.send({ method: 'POST', path: '/xrpc/com.atproto.server.requestEmailConfirmation', name: 'requestEmailConfirmation', emptyOk: true })
      if (trapped(res.body)) return reframed
      return (
        waf(res.status, res.body) ?? {
          id,
          status: 'warn',
          message: 'cannot tell whether a proxy re-frames body-less POSTs: the PDS checks the framing only after a user\'s auth, and the probe needs PDS_JWT_SECRET',
          fix: 'Pass --env-file /pds/pds.env (PDS_JWT_SECRET) or --kube-secret (key jwtSecret)',
        }
      )
    }
    const describe = await client.query('com.atproto.server.describeServer', {}, 'none')
    const aud = typeof describe?.did === 'string' && describe.did.startsWith('did:') ? describe.did : undefined
    if (!aud) return { id, status: 'warn', message: 'describeServer gave no service DID, which the body-less POST probe needs', fix: 'Check PDS_SERVICE_DID / PDS_HOSTNAME' }
    const res = await client.send({
      method: 'POST',
      path: '/xrpc/com.atproto.server.deleteSession',
      name: 'deleteSession',
      auth: { bearer: probeRefreshToken(jwtSecret, aud) },
      emptyOk: true,
    })
    if (trapped(res.body)) return reframed
    const blocked = waf(res.status, res.body)
    if (blocked) return blocked
    if (res.status === 200 && !res.contentType.includes('html')) {
      const tolerant = pdsVersion && /^0\.(?:[5-9]|\d\d)\./.test(pdsVersion) ? ` (PDS ${pdsVersion} also accepts one re-framed as chunked; a 0.4.x PDS would not)` : ''
      return { id, status: 'pass', message: `a body-less POST reaches the PDS in a form it accepts (deleteSession with a probe token that matches no session; nothing changed)${tolerant}` }
    }
    const err = typeof res.body === 'object' && res.body !== null ? (res.body as { error?: unknown }).error : undefined
    if (res.status === 400 || res.status === 401) {
      return {
        id,
        status: 'warn',
        message: `the PDS refused the body-less POST probe's token (HTTP ${res.status}${typeof err === 'string' ? ` ${err}` : ''}), so the framing could not be judged`,
        fix: 'Is PDS_JWT_SECRET in the env file / Secret the one this PDS runs with?',
      }
    }
    return { id, status: 'warn', message: `a body-less POST got HTTP ${res.status}, which says nothing about its framing`, fix: 'Re-run with --debug and check the proxy' }
  } catch (err) {
    return { id, status: 'fail', message: `a body-less POST failed: ${err instanceof PdsctlError ? err.message : String(err)}`, fix: 'Check the proxy in front of the PDS' }
  }
}

/**
 * An HS256 refresh token as the PDS issues them (typ refresh+jwt, scope com.atproto.refresh),
 * expired a minute ago, for a random session id: deleteSession accepts it and revokes nothing.
 */
function probeRefreshToken(jwtSecret: string, aud: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const head = part({ typ: 'refresh+jwt', alg: 'HS256' })
  const claims = part({ scope: 'com.atproto.refresh', sub: aud, aud, jti: `pdsctl-doctor-probe-${randomBytes(12).toString('hex')}`, iat: now - 120, exp: now - 60 })
  const sig = createHmac('sha256', Buffer.from(jwtSecret, 'utf8')).update(`${head}.${claims}`).digest('base64url')
  return `${head}.${claims}.${sig}`
}

/** Relays consume com.atproto.sync.subscribeRepos over a WebSocket through the public URL. */
async function checkWebSocket(baseUrl: string, timeoutMs: number, debug?: (line: string) => void): Promise<Check> {
  const id = 'websocket'
  const url = baseUrl.replace(/^http/, 'ws') + '/xrpc/com.atproto.sync.subscribeRepos'
  const outcome = await new Promise<{ ok: boolean; detail: string }>((resolve) => {
    let settled = false
    const done = (ok: boolean, detail: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      ws.close()
      resolve({ ok, detail })
    }
    const ws = new PdsctlWebSocket(url, { debug })
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs)
    ws.addEventListener('open', () => done(true, 'upgrade accepted'))
    ws.addEventListener('error', (ev) => done(false, (ev as Event & { message?: string }).message || 'the upgrade was refused'))
    ws.addEventListener('close', (ev) => done(false, `closed with code ${(ev as CloseEvent).code}`))
  })
  return outcome.ok
    ? { id, status: 'pass', message: `a WebSocket to com.atproto.sync.subscribeRepos opens through the public URL (${outcome.detail})` }
    : {
        id,
        status: 'fail',
        message: `a WebSocket to com.atproto.sync.subscribeRepos does not open through the public URL (${outcome.detail}); relays cannot follow this PDS`,
        fix: 'Allow WebSocket upgrades on /xrpc/com.atproto.sync.subscribeRepos in the proxy/ingress (Cloudflare: enable WebSockets; nginx: proxy_set_header Upgrade/Connection)',
      }
}

async function checkDescribeServer(client: PdsClient): Promise<Check[]> {
  try {
    const d = await client.query('com.atproto.server.describeServer', {}, 'none')
    const out: Check[] = [
      {
        id: 'describe-server',
        status: 'pass',
        message: `describeServer: ${d.did}; invite codes ${d.inviteCodeRequired ? 'required' : 'not required'}; user domains ${(d.availableUserDomains ?? []).join(', ') || 'none'}`,
      },
    ]
    out.push(
      d.contact?.email
        ? { id: 'contact', status: 'pass', message: `contact email: ${d.contact.email}` }
        : { id: 'contact', status: 'warn', message: 'no contact email published', fix: 'Set PDS_CONTACT_EMAIL_ADDRESS so users and moderators can reach you' },
    )
    if (!(d.availableUserDomains ?? []).length) {
      out.push({ id: 'user-domains', status: 'fail', message: 'no user handle domains are configured', fix: 'Set PDS_SERVICE_HANDLE_DOMAINS (e.g. .pds.example.com)' })
    }
    return out
  } catch (err) {
    return [{ id: 'describe-server', status: 'fail', message: `describeServer failed: ${err instanceof PdsctlError ? err.line : String(err)}`, fix: 'Check the PDS logs' }]
  }
}

function checkEmail(cfg: DoctorInput['emailConfig']): Check {
  const id = 'email'
  if (!cfg) {
    return {
      id,
      status: 'warn',
      message: 'cannot tell whether the PDS can send mail: no env file or Secret was given to read its configuration from (the PDS does not publish it)',
      fix: 'Pass --env-file /pds/pds.env, or --kube-secret so pdsctl can read smtpServer',
    }
  }
  if (!cfg.smtpUrl) {
    return {
      id,
      status: 'fail',
      message: `no SMTP server is configured (judged from ${cfg.source}): the PDS cannot send confirmation or password-reset mail`,
      fix: 'Set PDS_EMAIL_SMTP_URL (smtps://user:pass@host:465) and PDS_EMAIL_FROM_ADDRESS',
    }
  }
  let scheme = ''
  try {
    scheme = new URL(cfg.smtpUrl).protocol
  } catch {
    return { id, status: 'fail', message: `PDS_EMAIL_SMTP_URL in ${cfg.source} is not a URL`, fix: 'Use smtps://user:pass@host:465' }
  }
  if (!cfg.fromAddress) {
    return { id, status: 'fail', message: `an SMTP server is set but no from-address (judged from ${cfg.source})`, fix: 'Set PDS_EMAIL_FROM_ADDRESS' }
  }
  return {
    id,
    status: scheme === 'smtp:' || scheme === 'smtps:' ? 'pass' : 'warn',
    message: `mail is configured (judged from ${cfg.source}: an ${scheme.replace(':', '')} server and from-address ${cfg.fromAddress}; no mail was sent)`,
  }
}
