// `pdsctl xrpc`: any XRPC method, as a query or a procedure, with admin auth by default.
import { ensureValidNsid } from '@atproto/syntax'
import { UsageError } from '../errors.js'
import type { Auth, PdsClient, RawResponse } from './xrpcClient.js'

export function parseNsid(input: string): string {
  try {
    ensureValidNsid(input)
    return input
  } catch (err) {
    throw new UsageError(`"${input}" is not an NSID (${(err as Error).message})`, { hint: 'e.g. com.atproto.admin.getAccountInfo' })
  }
}

/** key=value pairs: repeated keys become arrays; values that look like JSON (numbers, true, {…}) are parsed for procedures. */
export function parseParams(pairs: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`"${pair}" is not key=value`)
    const key = pair.slice(0, eq)
    const value = pair.slice(eq + 1)
    const prev = out[key]
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  return out
}

function jsonish(v: string): unknown {
  if (/^(true|false|null|-?\d+(\.\d+)?|\{.*\}|\[.*\])$/s.test(v)) {
    try {
      return JSON.parse(v)
    } catch {
      return v
    }
  }
  return v
}

/**
 * Query or procedure, from @atproto/api's lexicons; undefined when unknown. The kinds are
 * generated from the lexicons at development time (xrpcMethods.ts): importing @atproto/api
 * here loaded ~1,000 modules (~0.5 s before the request), and on a cold compile cache Node
 * wrote each one's compiled code to disk as the process exited, so that even a Ctrl-C
 * waited for it (up to 1.2 s on a busy 2-core machine).
 */
export async function lookupMethodType(nsid: string): Promise<'query' | 'procedure' | 'subscription' | undefined> {
  const { QUERIES, PROCEDURES, SUBSCRIPTIONS } = await import('./xrpcMethods.js')
  if (PROCEDURES.includes(nsid)) return 'procedure'
  if (QUERIES.includes(nsid)) return 'query'
  if (SUBSCRIPTIONS.includes(nsid)) return 'subscription'
  return undefined
}

export async function callXrpc(
  client: PdsClient,
  input: { nsid: string; method: 'GET' | 'POST'; params: Record<string, string | string[]>; body?: unknown; rawBody?: Buffer; contentType?: string; auth: Auth },
): Promise<RawResponse> {
  if (input.method === 'GET') {
    return client.call({ method: 'GET', path: `/xrpc/${input.nsid}`, query: input.params, auth: input.auth, name: input.nsid, anyBody: true, emptyOk: true })
  }
  let body = input.body
  if (body === undefined && input.rawBody === undefined && Object.keys(input.params).length) {
    body = Object.fromEntries(Object.entries(input.params).map(([k, v]) => [k, Array.isArray(v) ? v.map(jsonish) : jsonish(v)]))
  }
  return client.call({ method: 'POST', path: `/xrpc/${input.nsid}`, body, rawBody: input.rawBody, contentType: input.contentType, auth: input.auth, name: input.nsid, anyBody: true })
}
