// `pdsctl handle check`: what the bsky-debug page does, from the terminal. A handle is
// verified by a DNS TXT record `_atproto.HANDLE` = `did=…` or by
// `https://HANDLE/.well-known/atproto-did`; the DID document must then claim the handle
// (alsoKnownAs) and point its #atproto_pds service at this PDS.
import { parseHandle } from '../pds/identifiers.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { didsInTxt, isDid, publicResolver } from '../identity/handleResolution.js'

export type CheckStatus = 'pass' | 'warn' | 'fail'
/** One check (`checks[]` of `pdsctl handle check --json`). */
export interface HandleCheck {
  id: 'dns' | 'https' | 'agree' | 'pds' | 'didDoc' | 'alsoKnownAs' | 'pdsEndpoint'
  status: CheckStatus
  message: string
  fix?: string
  value?: string
}
export interface HandleReport {
  handle: string
  did: string | null
  ok: boolean
  checks: HandleCheck[]
}

export interface HandleCheckInput {
  handle: string
  /** A client for this PDS (handle resolution goes through it). */
  client: PdsClient
  /** The public URL the DID document must point at (https://PDS_HOSTNAME). */
  publicUrl: string
  /** publicUrl is only the PDS URL's host (no PDS_HOSTNAME was given): a mismatch may be the guess's fault, not the DID document's. */
  publicUrlGuessed?: boolean
  plcUrl: string
  /** DNS servers (host:port) instead of the system's; also used to find HANDLE's address for HTTPS. */
  dnsServers?: string[]
  timeoutMs?: number
}

export async function checkHandle(input: HandleCheckInput): Promise<HandleReport> {
  const handle = parseHandle(input.handle)
  const resolver = publicResolver({ dnsServers: input.dnsServers, timeoutMs: input.timeoutMs ?? 10_000 })
  const get = resolver.get
  const checks: HandleCheck[] = []
  try {
    // 1. DNS TXT
    let dnsDid: string | undefined
    let dnsCheck: HandleCheck
    const txt = await resolver.txt(handle)
    if ('records' in txt) {
      const records = txt.records
      const dids = didsInTxt(records)
      if (dids.length > 1) dnsCheck = { id: 'dns', status: 'fail', message: `_atproto.${handle} has several DIDs: ${dids.join(', ')}`, fix: 'Keep exactly one TXT record did=<your DID>' }
      else if (dids.length === 1 && isDid(dids[0])) {
        dnsDid = dids[0]
        dnsCheck = { id: 'dns', status: 'pass', message: `_atproto.${handle} TXT says ${dnsDid}`, value: dnsDid }
      } else if (records.length) dnsCheck = { id: 'dns', status: 'fail', message: `_atproto.${handle} TXT is malformed: ${JSON.stringify(records)}`, fix: 'The TXT value must be exactly did=<your DID>' }
      else dnsCheck = { id: 'dns', status: 'fail', message: `no TXT record at _atproto.${handle}` }
    } else {
      dnsCheck = { id: 'dns', status: 'fail', message: `no TXT record at _atproto.${handle} (${txt.error})` }
    }

    // 2. HTTPS well-known
    let httpsDid: string | undefined
    let httpsCheck: HandleCheck
    const wellKnown = `https://${handle}/.well-known/atproto-did`
    const res = await resolver.wellKnown(handle)
    if ('status' in res) {
      const text = res.text.trim()
      if (res.status === 200 && isDid(text)) {
        httpsDid = text
        httpsCheck = { id: 'https', status: 'pass', message: `${wellKnown} says ${text}`, value: text }
      } else if (res.status === 200) httpsCheck = { id: 'https', status: 'fail', message: `${wellKnown} does not answer a DID (${JSON.stringify(text.slice(0, 60))})`, fix: 'Serve the DID alone, as text/plain' }
      else httpsCheck = { id: 'https', status: 'fail', message: `${wellKnown} answered HTTP ${res.status}` }
    } else {
      httpsCheck = { id: 'https', status: 'fail', message: `${wellKnown} cannot be fetched (${res.error})` }
    }
    // One method is enough: the other failing is only a warning.
    if (dnsDid && !httpsDid && !httpsCheck.message.includes('does not answer a DID')) httpsCheck = { ...httpsCheck, status: 'warn', fix: 'Optional: DNS already verifies the handle' }
    if (httpsDid && !dnsDid && dnsCheck.message.startsWith('no TXT')) dnsCheck = { ...dnsCheck, status: 'warn', fix: 'Optional: HTTPS already verifies the handle' }
    if (!dnsDid && !httpsDid) {
      const fix = `Add a DNS TXT record _atproto.${handle} with the value did=<the account's DID>, or serve the DID at ${wellKnown}`
      if (dnsCheck.status === 'fail' && !dnsCheck.fix) dnsCheck = { ...dnsCheck, fix }
      if (httpsCheck.status === 'fail' && !httpsCheck.fix) httpsCheck = { ...httpsCheck, fix }
    }
    checks.push(dnsCheck, httpsCheck)
    if (dnsDid && httpsDid) {
      checks.push(
        dnsDid === httpsDid
          ? { id: 'agree', status: 'pass', message: 'DNS and HTTPS name the same DID' }
          : { id: 'agree', status: 'fail', message: `DNS says ${dnsDid} but HTTPS says ${httpsDid}`, fix: 'Make both name the account DID (or remove the wrong one)' },
      )
    }

    // 3. The PDS
    let pdsDid: string | undefined
    try {
      pdsDid = (await input.client.query('com.atproto.identity.resolveHandle', { handle }, 'none')).did
    } catch {
      pdsDid = undefined
    }
    const claimed = dnsDid ?? httpsDid
    if (!pdsDid) {
      checks.push({ id: 'pds', status: 'fail', message: `this PDS has no account with the handle ${handle}`, fix: `Set it with \`pdsctl account update ACCOUNT --handle ${handle}\` once DNS or HTTPS verifies it` })
    } else if (claimed && claimed !== pdsDid) {
      checks.push({ id: 'pds', status: 'fail', message: `the handle points at ${claimed}, but on this PDS it belongs to ${pdsDid}`, fix: `Point the TXT record / well-known at ${pdsDid}`, value: pdsDid })
    } else {
      checks.push({ id: 'pds', status: 'pass', message: `on this PDS ${handle} is ${pdsDid}`, value: pdsDid })
    }

    // 4. The DID document
    const did = pdsDid ?? claimed ?? null
    if (did) {
      let doc: { alsoKnownAs?: string[]; service?: Array<{ id: string; type?: string; serviceEndpoint?: unknown }> } | undefined
      const docUrl = did.startsWith('did:plc:') ? `${input.plcUrl.replace(/\/+$/, '')}/${did}` : did.startsWith('did:web:') ? `https://${decodeURIComponent(did.slice(8))}/.well-known/did.json` : undefined
      if (!docUrl) checks.push({ id: 'didDoc', status: 'fail', message: `unsupported DID method: ${did}` })
      else {
        try {
          const res = await get(docUrl)
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
          doc = JSON.parse(res.text)
          checks.push({ id: 'didDoc', status: 'pass', message: `DID document found at ${docUrl}` })
        } catch (err) {
          checks.push({ id: 'didDoc', status: 'fail', message: `no DID document for ${did} at ${docUrl} (${(err as Error).message})`, fix: 'Check --plc-url, or the did:web host' })
        }
      }
      if (doc) {
        const aka = doc.alsoKnownAs ?? []
        checks.push(
          aka.includes(`at://${handle}`)
            ? { id: 'alsoKnownAs', status: 'pass', message: `the DID document claims at://${handle}` }
            : { id: 'alsoKnownAs', status: 'fail', message: `the DID document claims ${aka.join(', ') || 'no handle'}, not at://${handle}`, fix: `Update the handle on the PDS (\`pdsctl account update ${did} --handle ${handle}\`), which updates the DID document` },
        )
        const svc = (doc.service ?? []).find((s) => s.id === '#atproto_pds' || s.id === `${did}#atproto_pds`)
        const endpoint = typeof svc?.serviceEndpoint === 'string' ? svc.serviceEndpoint : undefined
        const expected = new URL(input.publicUrl).origin
        const actual = endpoint ? safeOrigin(endpoint) : undefined
        checks.push(
          actual === expected
            ? { id: 'pdsEndpoint', status: 'pass', message: `#atproto_pds is this PDS (${expected})` }
            : {
                id: 'pdsEndpoint',
                status: 'fail',
                message: `#atproto_pds is ${endpoint ?? 'missing'}, not this PDS (${expected}${input.publicUrlGuessed ? ', guessed from the PDS URL' : ''})`,
                fix: input.publicUrlGuessed
                  ? `Pass --public-url with this PDS's public URL (https://PDS_HOSTNAME), or set PDS_HOSTNAME: ${expected} is only the host pdsctl reached it at`
                  : `The account lives on another PDS, or its DID document was never updated: migrate the account, or fix the PLC entry to ${expected}`,
              },
        )
      }
    }
    return { handle, did, ok: !checks.some((c) => c.status === 'fail'), checks }
  } finally {
    resolver.close()
  }
}

function safeOrigin(u: string): string | undefined {
  try {
    return new URL(u).origin
  } catch {
    return undefined
  }
}
