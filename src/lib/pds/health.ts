// `pdsctl health`: is the PDS up, which version, what does it say about itself, how fast.
import { PdsctlError } from '../errors.js'
import type { PdsClient, RawResponse } from './xrpcClient.js'

/**
 * What an answer to /xrpc/_health says: healthy only for a 200 whose body is a JSON
 * object (a 0.4.x PDS from npm answers `{}`, a released image `{version}`); a login page
 * or a proxy's stub answering 200 is a problem, not health.
 */
export function judgeHealthAnswer(res: RawResponse): { version: string | null; problem?: string } {
  const body = res.json ? (res.body as { version?: unknown; error?: unknown }) : undefined
  const version = typeof body === 'object' && body !== null && typeof body.version === 'string' ? body.version : null
  if (res.status !== 200) {
    return { version, problem: `/xrpc/_health answered HTTP ${res.status}${body && typeof body === 'object' && body.error ? ` (${String(body.error)})` : ''}` }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const what = res.body === undefined ? 'an empty answer' : `${res.contentType || 'no content type'}`
    return {
      version: null,
      problem: `/xrpc/_health answered HTTP 200 with ${what} instead of JSON: a login page or proxy in front of the PDS answered, not the PDS`,
    }
  }
  return { version }
}

/** The documented JSON shape of `pdsctl health`. */
export interface HealthReport {
  url: string
  healthy: boolean
  /** From /xrpc/_health; null when the PDS does not say (0.4.x run from npm answers `{}`). */
  version: string | null
  /** Round-trip time of the /xrpc/_health request in ms; null when it failed. */
  rttMs: number | null
  server: {
    did: string
    inviteCodeRequired: boolean
    availableUserDomains: string[]
    contactEmail: string | null
    links: { privacyPolicy: string | null; termsOfService: string | null }
  } | null
  /** Why it is not healthy (empty when healthy). */
  problems: string[]
}

export async function checkHealth(client: PdsClient): Promise<HealthReport> {
  const report: HealthReport = { url: client.url, healthy: false, version: null, rttMs: null, server: null, problems: [] }
  // Both calls at once (one round trip, not two); describeServer's answer counts only when
  // /xrpc/_health says the PDS is up.
  const described = client.query('com.atproto.server.describeServer', {}, 'none').then(
    (d) => ({ d }),
    (err: unknown) => ({ err }),
  )
  try {
    const res = await client.send({ method: 'GET', path: '/xrpc/_health', name: '_health' })
    report.rttMs = res.ms
    const judged = judgeHealthAnswer(res)
    report.version = judged.version
    if (judged.problem) {
      report.problems.push(judged.problem)
      return report
    }
  } catch (err) {
    report.problems.push(err instanceof PdsctlError ? err.line : String(err))
    return report
  }
  const answer = await described
  if ('d' in answer) {
    const d = answer.d
    report.server = {
      did: d.did,
      inviteCodeRequired: Boolean(d.inviteCodeRequired),
      availableUserDomains: d.availableUserDomains ?? [],
      contactEmail: d.contact?.email ?? null,
      links: { privacyPolicy: d.links?.privacyPolicy ?? null, termsOfService: d.links?.termsOfService ?? null },
    }
  } else {
    const err = answer.err
    report.problems.push(`describeServer failed: ${err instanceof PdsctlError ? err.line : String(err)}`)
  }
  report.healthy = report.problems.length === 0
  return report
}
