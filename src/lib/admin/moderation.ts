// Takedowns of one record (by AT-URI) or one blob (by DID and CID), through
// com.atproto.admin.updateSubjectStatus.
import { AtUri, ensureValidAtUri } from '@atproto/syntax'
import { CID } from 'multiformats/cid'
import { resolveDid } from './accounts.js'
import { NotFoundError, UsageError, XrpcError } from '../errors.js'
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

// A CID as the PDS prints them: CIDv1 (base32 b…, or any multibase multiformats reads) or
// CIDv0 (Qm…). Parsed for real, so that a string that only looks like one (a typo, a
// truncated copy) is bad input here (exit 2), not a server error later. Returned as the
// PDS writes it: CIDv1 in base32.
export function parseCid(input: string): string {
  let cid: CID
  try {
    cid = CID.parse(input.trim())
  } catch (err) {
    throw new UsageError(`"${input}" is not a CID (${(err as Error).message})`, { hint: 'A blob CID looks like bafkrei…; copy it from the record that refers to the blob' })
  }
  return cid.version === 0 ? cid.toString() : cid.toV1().toString()
}

export async function takedownRecord(client: PdsClient, input: { uri: string; applied: boolean; ref?: string; dryRun?: boolean }): Promise<SubjectTakedownResult> {
  const parsed = parseAtUri(input.uri)
  const did = await resolveDid(client, parsed.host, { admin: true })
  const uri = `at://${did}/${parsed.collection}/${parsed.rkey}`
  // A visible record gives its CID through getRecord; a taken-down one only through the admin
  // view. Only the PDS's own "not there" answers (400 with an XRPC error) mean absence: a
  // network failure, a proxy's page or a broken answer is that error, never "no record" (4).
  let cid = await client
    .query('com.atproto.repo.getRecord', { repo: did, collection: parsed.collection, rkey: parsed.rkey }, 'none')
    .then((r) => r.cid)
    .catch((err: unknown) => {
      if (err instanceof XrpcError && err.status === 400 && err.xrpcName) return undefined
      throw err
    })
  if (!cid) {
    const status = await client.query('com.atproto.admin.getSubjectStatus', { uri }, 'admin').catch((err: unknown) => {
      if (err instanceof XrpcError && err.xrpcName === 'NotFound') return undefined
      throw err
    })
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
  await ensureBlobExists(client, did, cid)
  return setTakedown(client, { $type: 'com.atproto.admin.defs#repoBlobRef', did, cid }, { did, cid }, input)
}

/**
 * The PDS accepts a takedown of a blob it does not have and answers 200 (nothing happens),
 * so ask first: getSubjectStatus knows every blob of the repo, taken down or not, and
 * answers NotFound for any other.
 */
async function ensureBlobExists(client: PdsClient, did: string, cid: string): Promise<void> {
  try {
    const status = await client.query('com.atproto.admin.getSubjectStatus', { did, blob: cid }, 'admin')
    const subject = (status as { subject?: { cid?: unknown } } | undefined)?.subject
    if (typeof subject?.cid !== 'string') {
      throw new XrpcError('com.atproto.admin.getSubjectStatus', 200, undefined, undefined, {
        summary: 'the PDS answered com.atproto.admin.getSubjectStatus without subject.cid',
      })
    }
  } catch (err) {
    if (err instanceof XrpcError && (err.xrpcName === 'NotFound' || err.exitCode === 4)) {
      throw new NotFoundError(`no blob ${cid} in the repo of ${did} on this PDS`, {
        hint: 'Check the account and the CID (the blob must belong to that account)',
      })
    }
    throw err
  }
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
