// Does the DID document's signing key sign the account's repository? The latest commit's
// CID (com.atproto.sync.getLatestCommit, or listRepos' `head`), its block fetched alone
// (com.atproto.sync.getBlocks, a CAR whose block is checked against its CID), decoded and
// its signature verified with the key (@atproto/repo, @atproto/crypto). A PDS signs every
// commit with the key it holds for the account; when the document names another key,
// relays and app views reject the account's new posts.
// Read with pdsctl's strict CAR and DAG-CBOR readers and verified with Node's OpenSSL
// (keys.ts): @atproto/repo would load ~15 MiB (and @atproto/crypto ~20 MiB) into a check
// that must stay flat over every account.
import { BadResponseError, XrpcError } from '../errors.js'
import type { PdsClient, RawRequest, RawResponse } from '../pds/xrpcClient.js'
import { readCar } from './car.js'
import { decodeDagCbor, encodeDagCbor } from './dagCbor.js'
import { verifyWithDidKey } from './keys.js'

/** A commit block is a few hundred bytes; anything much larger is not one. */
const MAX_COMMIT_CAR_BYTES = 64 * 1024

export type CommitVerdict =
  | { ok: true; cid: string; rev: string | null }
  | { ok: false; cid: string | null; reason: string }

/** The latest commit's CID and rev (com.atproto.sync.getLatestCommit). */
export async function latestCommit(client: PdsClient, did: string): Promise<{ cid: string; rev: string }> {
  const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.sync.getLatestCommit', query: { did }, name: 'com.atproto.sync.getLatestCommit', requires: ['cid', 'rev'] })
  const { cid, rev } = res.body as { cid: unknown; rev: unknown }
  if (typeof cid !== 'string' || typeof rev !== 'string') throw new BadResponseError(`the PDS answered com.atproto.sync.getLatestCommit for ${did} without a cid and rev`)
  return { cid, rev }
}

/**
 * The bytes of one block of the account's repository (com.atproto.sync.getBlocks), checked
 * against its CID. Read whole through the client's buffered path (one promise and one timer
 * per request, its deadline, retries of a safe read), capped at MAX_COMMIT_CAR_BYTES: a
 * stream per account cost a signal listener, an idle timer and a reader more, for every
 * account a check reads.
 */
export function fetchBlock(client: PdsClient, did: string, cid: string): Promise<Uint8Array> {
  const req = { method: 'GET' as const, path: '/xrpc/com.atproto.sync.getBlocks', query: { did, cids: [cid] }, name: 'com.atproto.sync.getBlocks', binary: true, maxBytes: MAX_COMMIT_CAR_BYTES }
  return client.send(req).then((res) => blockOf(client, req, res, did, cid))
}

function blockOf(client: PdsClient, req: RawRequest, res: RawResponse, did: string, cid: string): Uint8Array {
  if (res.status < 200 || res.status >= 300) throw client.errorFor(req, res)
  if (!Buffer.isBuffer(res.body)) {
    throw new BadResponseError(`com.atproto.sync.getBlocks for ${did} did not send a CAR (${res.contentType || 'no content type'})`, {
      hint: 'Is --url really a PDS, and is nothing in front of it rewriting answers?',
    })
  }
  let blocks
  try {
    // readCar checks every block against its CID.
    blocks = readCar(res.body).blocks
  } catch (err) {
    throw new BadResponseError(`com.atproto.sync.getBlocks for ${did} did not send a valid CAR (${(err as Error).message})`)
  }
  for (const block of blocks) if (block.cid.toString() === cid) return block.bytes
  throw new BadResponseError(`com.atproto.sync.getBlocks for ${did} did not send the block ${cid}`)
}

/**
 * Whether the commit `cid` (default: the latest) is signed by `signingKey` for `did`. A
 * verdict, not a throw, for what is wrong with the account (no such block, a commit for
 * another DID, a signature the key does not make); network failures throw.
 */
export async function verifyCommit(client: PdsClient, did: string, signingKey: string, cid?: string): Promise<CommitVerdict> {
  let head = cid
  let rev: string | null = null
  if (!head) {
    try {
      const latest = await latestCommit(client, did)
      head = latest.cid
      rev = latest.rev
    } catch (err) {
      if (err instanceof XrpcError && err.status === 400) return { ok: false, cid: null, reason: `the PDS has no commit for it (${err.xrpcName ?? 'HTTP 400'})` }
      throw err
    }
  }
  let bytes: Uint8Array
  try {
    bytes = await fetchBlock(client, did, head)
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400) return { ok: false, cid: head, reason: `the PDS cannot send the commit block ${head} (${err.xrpcName ?? 'HTTP 400'}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})` }
    throw err
  }
  let commit: Record<string, unknown>
  try {
    commit = decodeDagCbor(bytes) as Record<string, unknown>
  } catch (err) {
    return { ok: false, cid: head, reason: `the block ${head} is not a commit (${(err as Error).message})` }
  }
  if (typeof commit !== 'object' || commit === null || !(commit.sig instanceof Uint8Array) || typeof commit.did !== 'string') {
    return { ok: false, cid: head, reason: `the block ${head} is not a signed commit` }
  }
  if (commit.did !== did) return { ok: false, cid: head, reason: `the commit ${head} is for another DID` }
  if (typeof commit.rev === 'string') rev = commit.rev
  // The signature is over the commit's other fields, DAG-CBOR encoded (as the PDS signed it).
  const { sig, ...unsigned } = commit
  const verified = await verifyWithDidKey(signingKey, encodeDagCbor(unsigned), sig as Uint8Array)
  return verified ? { ok: true, cid: head, rev } : { ok: false, cid: head, reason: `the commit ${head} is not signed by the document's key ${signingKey}` }
}
