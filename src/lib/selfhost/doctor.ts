// `pdsctl doctor`: the checks to run after deploying a PDS, each pass / warn / fail with
// the fix. Every probe is a real request to the PDS (or a relay); nothing is inferred
// from a version number.
import { PdsctlError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { judgeHealthAnswer } from '../pds/health.js'

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
  /** How the email configuration was found, when it was: where it came from and the values. */
  emailConfig?: { source: string; smtpUrl?: string; fromAddress?: string }
  timeoutMs?: number
  /** For tests: the WebSocket implementation (defaults to Node's global WebSocket). */
  WebSocketImpl?: typeof WebSocket
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
  checks.push(await checkBodylessPost(pub))
  checks.push(await checkWebSocket(pub.url, input.timeoutMs ?? 10_000, input.WebSocketImpl))
  checks.push(...(await checkDescribeServer(pub)))
  checks.push(checkEmail(input.emailConfig))
  for (const relay of input.relays) checks.push(await checkRelay(relay, input.hostname))
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
 * A body-less POST (empty body, Content-Length: 0) must reach the PDS as body-less.
 * Proxies such as cloudflared re-frame it as `Transfer-Encoding: chunked`; PDS 0.4.x then
 * rejects it, which is why email verification fails behind a Cloudflare tunnel. The probe
 * uses requestEmailConfirmation without credentials: a PDS that sees no body answers 401.
 */
async function checkBodylessPost(client: PdsClient): Promise<Check> {
  const id = 'bodyless-post'
  try {
    const res = await client.send({ method: 'POST', path: '/xrpc/com.atproto.server.requestEmailConfirmation', name: 'requestEmailConfirmation' })
    const body = res.body as { error?: string; message?: string } | string | undefined
    const message = typeof body === 'object' && body ? body.message ?? '' : String(body ?? '')
    if (BODY_TRAP.test(message)) {
      return {
        id,
        status: 'fail',
        message: 'a body-less POST reached the PDS with a body: the proxy in front of it adds chunked transfer encoding (this breaks "verify email" and other body-less calls)',
        fix: 'For a Cloudflare tunnel set `disableChunkedEncoding: true` under originRequest in cloudflared\'s config (or the dashboard\'s "Disable Chunked Encoding"); meanwhile `pdsctl email confirm --kube-*` works around it',
      }
    }
    if (res.status === 403 && !(typeof body === 'object' && body?.error)) {
      return { id, status: 'fail', message: 'a body-less POST was refused with HTTP 403 by something in front of the PDS', fix: 'Check WAF / proxy rules for POSTs to /xrpc/*' }
    }
    if (res.status === 401 || res.status === 400 || res.status === 200) {
      return { id, status: 'pass', message: `a body-less POST reaches the PDS as body-less (HTTP ${res.status}${typeof body === 'object' && body?.error ? ` ${body.error}` : ''})` }
    }
    return { id, status: 'warn', message: `a body-less POST got HTTP ${res.status}, which says nothing about its framing`, fix: 'Re-run with --debug and check the proxy' }
  } catch (err) {
    return { id, status: 'fail', message: `a body-less POST failed: ${err instanceof PdsctlError ? err.message : String(err)}`, fix: 'Check the proxy in front of the PDS' }
  }
}

/** Relays consume com.atproto.sync.subscribeRepos over a WebSocket through the public URL. */
async function checkWebSocket(baseUrl: string, timeoutMs: number, WS: typeof WebSocket = globalThis.WebSocket): Promise<Check> {
  const id = 'websocket'
  const url = baseUrl.replace(/^http/, 'ws') + '/xrpc/com.atproto.sync.subscribeRepos'
  const outcome = await new Promise<{ ok: boolean; detail: string }>((resolve) => {
    let settled = false
    const done = (ok: boolean, detail: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      try {
        ws.close()
      } catch {
        /* already closed */
      }
      resolve({ ok, detail })
    }
    const ws = new WS(url)
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

async function checkRelay(relay: PdsClient, hostname: string): Promise<Check> {
  const id = `relay ${new URL(relay.url).host}`
  try {
    const res = await relay.send({ method: 'GET', path: '/xrpc/com.atproto.sync.getHostStatus', query: { hostname }, auth: 'none', name: 'getHostStatus' })
    const body = res.body as { status?: string; accountCount?: number; error?: string; message?: string } | undefined
    if (res.status === 200 && body && typeof body === 'object') {
      const status = body.status ?? 'unknown'
      return status === 'active'
        ? { id, status: 'pass', message: `${relay.url} knows ${hostname}: active${body.accountCount !== undefined ? `, ${body.accountCount} accounts` : ''}` }
        : { id, status: 'warn', message: `${relay.url} knows ${hostname} with status ${status}`, fix: `Run \`pdsctl request-crawl ${relay.url}\`` }
    }
    if (res.status === 400 || res.status === 404) {
      return { id, status: 'warn', message: `${relay.url} does not know ${hostname} (${body?.error ?? `HTTP ${res.status}`})`, fix: `Run \`pdsctl request-crawl ${relay.url}\`` }
    }
    return { id, status: 'warn', message: `${relay.url} answered HTTP ${res.status} to getHostStatus` }
  } catch (err) {
    return { id, status: 'warn', message: `could not reach ${relay.url}: ${err instanceof PdsctlError ? err.message : String(err)}` }
  }
}
