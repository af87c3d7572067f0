// Relays: asking them to crawl this PDS, and what they know of it. Relay clients are
// built with no credential of any kind: nothing of the admin's ever goes to a relay.
import { UsageError, XrpcError, PdsctlError } from '../errors.js'
import { parsePdsUrl } from '../pds/identifiers.js'
import type { PdsClient } from '../pds/xrpcClient.js'

export const DEFAULT_RELAY = 'https://bsky.network'

export function parseRelayUrl(input: string): string {
  return parsePdsUrl(input, { what: 'relay URL' })
}

export function parseHostname(input: string): string {
  const h = input.trim().toLowerCase()
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/.test(h)) {
    throw new UsageError(`"${input}" is not a hostname`, { hint: 'Give the PDS hostname without https://, e.g. pds.example.com' })
  }
  return h
}

/** One relay's answer (`pdsctl request-crawl --json` is an array of these). */
export interface CrawlResult {
  relay: string
  hostname: string
  ok: boolean
  error: string | null
}

export async function requestCrawl(relays: PdsClient[], hostname: string): Promise<CrawlResult[]> {
  return Promise.all(
    relays.map(async (relay) => {
      try {
        await relay.procedure('com.atproto.sync.requestCrawl', { hostname }, 'none')
        return { relay: relay.url, hostname, ok: true, error: null }
      } catch (err) {
        return { relay: relay.url, hostname, ok: false, error: err instanceof PdsctlError ? err.line : String(err) }
      }
    }),
  )
}

/** `pdsctl relay status --json`. */
export interface RelayHostStatus {
  relay: string
  hostname: string
  known: boolean
  status: string | null
  accountCount: number | null
  seq: number | null
}

export async function relayHostStatus(relay: PdsClient, hostname: string): Promise<RelayHostStatus> {
  try {
    const s = await relay.query('com.atproto.sync.getHostStatus', { hostname }, 'none')
    return { relay: relay.url, hostname, known: true, status: s.status ?? null, accountCount: s.accountCount ?? null, seq: s.seq ?? null }
  } catch (err) {
    if (err instanceof XrpcError && (err.xrpcName === 'HostNotFound' || err.status === 404)) {
      return { relay: relay.url, hostname, known: false, status: null, accountCount: null, seq: null }
    }
    throw err
  }
}
