// Resolving a handle to a DID, the two ways atproto allows and the way a PDS answers:
// - publicly: DNS TXT `_atproto.HANDLE` = `did=…`, or `https://HANDLE/.well-known/atproto-did`
//   (what relays and app views do; `handle check`, and `identity … --public`);
// - through the PDS itself: `com.atproto.identity.resolveHandle`, and its
//   `/.well-known/atproto-did` asked with the handle as Host (what the PDS serves for handles
//   under its own domains), so handles on a private network or a split-horizon DNS check
//   out wherever pdsctl runs.
// Answers are data: a DID is accepted only when it parses as one.
import { Resolver } from 'node:dns/promises'
import type { LookupFunction } from 'node:net'
import { ensureValidDid } from '@atproto/syntax'
import { HttpTransport, readText } from '../pds/http.js'
import { XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'

export function isDid(v: string): boolean {
  try {
    ensureValidDid(v)
    return true
  } catch {
    return false
  }
}

/** The distinct `did=` values of TXT records (chunks already joined). */
export function didsInTxt(records: string[]): string[] {
  return [...new Set(records.filter((r) => r.startsWith('did=')).map((r) => r.slice(4).trim()))]
}

/** A DNS TXT lookup: the records, or the resolver's error code. */
export type TxtLookup = { records: string[] } | { error: string }
/** An HTTPS GET: status and text, or the connection's error code. */
export type HttpsLookup = { status: number; text: string } | { error: string }

export interface PublicResolver {
  /** TXT records of `_atproto.HANDLE`. */
  txt(handle: string): Promise<TxtLookup>
  /** GET https://HANDLE/.well-known/atproto-did. */
  wellKnown(handle: string): Promise<HttpsLookup>
  /** GET any URL through the same DNS (a DID document on the handle's host). */
  get(url: string): Promise<{ status: number; text: string }>
  close(): void
}

/**
 * Public DNS and HTTPS, through the system's resolver or the given DNS servers (host:port),
 * which then also find the addresses HTTPS connects to.
 */
export function publicResolver(opts: { dnsServers?: string[]; timeoutMs?: number } = {}): PublicResolver {
  const timeout = opts.timeoutMs ?? 10_000
  const resolver = new Resolver({ timeout, tries: 2 })
  if (opts.dnsServers?.length) resolver.setServers(opts.dnsServers)
  const lookup: LookupFunction | undefined = opts.dnsServers?.length
    ? (hostname, _opts, cb) => {
        resolver.resolve4(hostname).then(
          (addrs) => ((_opts as { all?: boolean })?.all ? cb(null, addrs.map((address) => ({ address, family: 4 })) as never) : cb(null, addrs[0], 4)),
          (err) => cb(err, '', 4),
        )
      }
    : undefined
  const transport = new HttpTransport({ connectTimeoutMs: timeout, idleTimeoutMs: timeout, lookup })
  const get = async (url: string): Promise<{ status: number; text: string }> => {
    const res = await transport.request({ url: new URL(url), method: 'GET', headers: { accept: 'application/json, text/plain' } })
    return { status: res.statusCode, text: await readText(res.body) }
  }
  return {
    async txt(handle) {
      try {
        return { records: (await resolver.resolveTxt(`_atproto.${handle}`)).map((chunks) => chunks.join('')) }
      } catch (err) {
        return { error: (err as NodeJS.ErrnoException).code ?? String(err) }
      }
    },
    async wellKnown(handle) {
      try {
        return await get(`https://${handle}/.well-known/atproto-did`)
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
        return { error: e.code ?? e.cause?.code ?? e.message }
      }
    },
    get,
    close: () => transport.destroy(),
  }
}

/** How a handle resolved one way: the DID, or why not. */
export interface Resolution {
  did?: string
  /** Why no DID came back (a short phrase, server text included as data). */
  error?: string
}

/** Public resolution: DNS TXT and HTTPS; one DID from either is enough, two different ones are an error. */
export async function resolvePublicly(r: PublicResolver, handle: string): Promise<{ dns: Resolution; https: Resolution; did?: string; error?: string }> {
  const [txt, web] = await Promise.all([r.txt(handle), r.wellKnown(handle)])
  let dns: Resolution
  if ('error' in txt) dns = { error: `no TXT record at _atproto.${handle} (${txt.error})` }
  else {
    const dids = didsInTxt(txt.records)
    dns = dids.length > 1 ? { error: `_atproto.${handle} has several DIDs` } : dids.length === 1 && isDid(dids[0]) ? { did: dids[0] } : { error: txt.records.length ? `_atproto.${handle} TXT is malformed` : `no TXT record at _atproto.${handle}` }
  }
  let https: Resolution
  if ('error' in web) https = { error: `https://${handle}/.well-known/atproto-did cannot be fetched (${web.error})` }
  else if (web.status === 200 && isDid(web.text.trim())) https = { did: web.text.trim() }
  else https = { error: `https://${handle}/.well-known/atproto-did answered ${web.status === 200 ? 'something that is not a DID' : `HTTP ${web.status}`}` }
  if (dns.did && https.did && dns.did !== https.did) return { dns, https, error: `DNS says ${dns.did} but HTTPS says ${https.did}` }
  const did = dns.did ?? https.did
  return { dns, https, did, error: did ? undefined : `neither DNS (${dns.error}) nor HTTPS (${https.error}) gives a DID` }
}

/** Whether `handle` is under one of the PDS's handle domains (describeServer's availableUserDomains, `.example.com`). */
export function underDomains(handle: string, domains: string[]): boolean {
  return domains.some((d) => {
    const dot = d.startsWith('.') ? d : `.${d}`
    return handle.endsWith(dot) || handle === dot.slice(1)
  })
}

/**
 * Resolution through the PDS: `com.atproto.identity.resolveHandle`, and, when asked
 * (handles under the PDS's own domains), its `/.well-known/atproto-did` with the handle as
 * Host. Network failures throw; an answer that names no DID is a Resolution with an error.
 */
export async function resolveThroughPds(client: PdsClient, handle: string, opts: { wellKnown: boolean }): Promise<{ resolveHandle: Resolution; wellKnown?: Resolution }> {
  // Straight-line awaits in one function (identity check runs this for every account: each
  // async helper would be one more suspended frame per account in flight).
  let resolveHandle: Resolution
  try {
    const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.identity.resolveHandle', query: { handle }, name: 'com.atproto.identity.resolveHandle', requires: ['did'] })
    const did = (res.body as { did: unknown }).did
    resolveHandle = typeof did === 'string' && isDid(did) ? { did } : { error: 'resolveHandle answered something that is not a DID' }
  } catch (err) {
    if (!(err instanceof XrpcError && err.status === 400)) throw err
    resolveHandle = { error: `the PDS does not resolve it (${err.xrpcName ?? 'HTTP 400'}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})` }
  }
  if (!opts.wellKnown) return { resolveHandle }
  const res = await client.send({ method: 'GET', path: '/.well-known/atproto-did', host: handle, name: `/.well-known/atproto-did for ${handle}` })
  if (res.status === 404) return { resolveHandle, wellKnown: { error: 'the PDS answers /.well-known/atproto-did with 404 for it' } }
  if (res.status !== 200) throw client.errorFor({ method: 'GET', path: '/.well-known/atproto-did', name: `/.well-known/atproto-did for ${handle}` }, res)
  const text = typeof res.body === 'string' ? res.body.trim() : ''
  return { resolveHandle, wellKnown: isDid(text) ? { did: text } : { error: '/.well-known/atproto-did answered something that is not a DID' } }
}
