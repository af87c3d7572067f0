// Takedowns of one record (by AT-URI) or one blob (by DID and CID), through
// com.atproto.admin.updateSubjectStatus.
import { AtUri, ensureValidAtUri } from '@atproto/syntax'
import { resolveDid } from './accounts.js'
import { NotFoundError, UsageError } from '../errors.js'
import { parseAccountRef } from '../pds/identifiers.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** `pdsctl record takedown|untakedown --json` and `blob …`. */
export interface SubjectTakedownResult {
  subject: { uri: string; cid: string } | { did: string; cid: string }
  takendown: boolean
  ref: string | null
  dryRun: boolean
}

export function parseAtUri(input: string): AtUri {
  try {
    ensureValidAtUri(input)
    const uri = new AtUri(input)
    if (!uri.collection || !uri.rkey) throw new Error('it names no record (collection and record key)')
    parseAccountRef(uri.host)
    return uri
  } catch (err) {
    throw new UsageError(`"${input}" is not a record AT-URI (${(err as Error).message})`, { hint: 'e.g. at://did:plc:abc/app.bsky.feed.post/3k2a…' })
  }
}

// CIDv1 in base32 (b…) as the PDS prints them, or CIDv0 (Qm…).
export function parseCid(input: string): string {
  if (!/^(b[a-z2-7]{50,}|Qm[1-9A-HJ-NP-Za-km-z]{44})$/.test(input)) {
    throw new UsageError(`"${input}" is not a CID`, { hint: 'A blob CID looks like bafkrei…' })
  }
  return input
}

export async function takedownRecord(client: PdsClient, input: { uri: string; applied: boolean; ref?: string; dryRun?: boolean }): Promise<SubjectTakedownResult> {
  const parsed = parseAtUri(input.uri)
  const did = await resolveDid(client, parsed.host, { admin: true })
  const uri = `at://${did}/${parsed.collection}/${parsed.rkey}`
  // A visible record gives its CID through getRecord; a taken-down one only through the admin view.
  let cid = await client
    .query('com.atproto.repo.getRecord', { repo: did, collection: parsed.collection, rkey: parsed.rkey }, 'none')
    .then((r) => r.cid)
    .catch(() => undefined)
  if (!cid) {
    const status = await client.query('com.atproto.admin.getSubjectStatus', { uri }, 'admin').catch(() => undefined)
    const subject = status?.subject as { cid?: string } | undefined
    cid = subject?.cid
  }
  if (!cid) throw new NotFoundError(`no record ${uri} on this PDS`)
  return setTakedown(client, { $type: 'com.atproto.repo.strongRef', uri, cid }, { uri, cid }, input)
}

export async function takedownBlob(client: PdsClient, input: { account: string; cid: string; applied: boolean; ref?: string; dryRun?: boolean }): Promise<SubjectTakedownResult> {
  const ref = parseAccountRef(input.account)
  const cid = parseCid(input.cid)
  const did = await resolveDid(client, ref, { admin: true })
  return setTakedown(client, { $type: 'com.atproto.admin.defs#repoBlobRef', did, cid }, { did, cid }, input)
}

/** The one updateSubjectStatus call both takedowns make (skipped on --dry-run). */
async function setTakedown(
  client: PdsClient,
  subject: { $type: 'com.atproto.repo.strongRef'; uri: string; cid: string } | { $type: 'com.atproto.admin.defs#repoBlobRef'; did: string; cid: string },
  shown: SubjectTakedownResult['subject'],
  input: { applied: boolean; ref?: string; dryRun?: boolean },
): Promise<SubjectTakedownResult> {
  const result: SubjectTakedownResult = { subject: shown, takendown: input.applied, ref: input.ref ?? null, dryRun: Boolean(input.dryRun) }
  if (input.dryRun) return result
  await client.procedure('com.atproto.admin.updateSubjectStatus', { subject, takedown: { applied: input.applied, ref: input.ref } }, 'admin')
  return result
}
