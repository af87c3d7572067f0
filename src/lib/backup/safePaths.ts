// Names from a server (or from a backup folder's manifest) are data, never paths. Every
// path component pdsctl derives from one — a DID, a rev, a blob CID, a record key, a
// handle — is parsed with the identifier's own parser (@atproto/syntax, multiformats) and
// turned into a file name by fileNameFor, whose output cannot hold a separator, NUL, a
// leading dot (so neither `.` nor `..`), and is never empty or longer than a file name may
// be. What does not parse is an UntrustedNameError naming the value: the caller reports it
// as one error and goes on with the rest (it never becomes a path).
//
// The backup's layout is built only from those names (backupPaths): a manifest or a
// state.json that names any other path is not one pdsctl wrote.
import { ensureValidDid, isValidHandle, isValidRecordKey, isValidTid } from '@atproto/syntax'
import { CID } from 'multiformats/cid'
import { PdsctlError } from '../errors.js'

/**
 * Something a server (or a backup folder) said that pdsctl will not act on: a name that is
 * not the identifier it claims to be, a commit of another account. Exit 1: the data lied.
 */
export class UntrustedDataError extends PdsctlError {}

export class UntrustedNameError extends UntrustedDataError {
  constructor(
    readonly kind: NameKind,
    readonly value: unknown,
    message: string,
  ) {
    super(message)
  }
}

export type NameKind = 'did' | 'rev' | 'cid' | 'rkey' | 'handle'

const NOUN: Record<NameKind, string> = { did: 'account', rev: 'rev', cid: 'CID', rkey: 'record key', handle: 'handle' }

/** A value quoted for an error line: JSON (so every control character is escaped), cut to 120 characters. */
export function quoted(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value)
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s)
}

/** A did:web host: DNS labels, and a port as %3A digits (did:web's own escape). */
const DID_WEB = /^did:web:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(%3[aA]\d{1,5})?$/

/**
 * The file name for a server-given identifier of `kind`, or an UntrustedNameError.
 * `noun` names the value in the error ("blob", "diff 2's rev"). DIDs: only what a PDS
 * hosts (did:plc: + 24 base32, did:web:HOST[%3APORT]), `:` as `_` (a did:plc never holds
 * `_`, a did:web host cannot, so the mapping is one to one). Revs are TIDs. CIDs must be
 * in their canonical string form (one file per blob).
 */
export function fileNameFor(kind: NameKind, value: unknown, noun = NOUN[kind]): string {
  // The same value is checked many times a run (a state's every blob CID when it is read,
  // again for its path, again for the manifest): its name, a pure function of the value,
  // is kept once it passed (~0.1 ms of CID parsing a time). Failures are never kept.
  if (typeof value === 'string') {
    const known = passed[kind].get(value)
    if (known !== undefined) return known
  }
  const name = checkedName(kind, value, noun)
  const memo = passed[kind]
  if (memo.size >= MEMO_MAX) memo.clear() // bounded whatever the number of accounts and blobs
  memo.set(value as string, name)
  return name
}

/** Names that passed fileNameFor, by kind (value -> file name). */
const passed: Record<NameKind, Map<string, string>> = { did: new Map(), rev: new Map(), cid: new Map(), rkey: new Map(), handle: new Map() }
const MEMO_MAX = 4096

function checkedName(kind: NameKind, value: unknown, noun: string): string {
  const fail = (what: string): never => {
    throw new UntrustedNameError(kind, value, `${noun} ${quoted(value)} is not ${what}`)
  }
  if (typeof value !== 'string') return fail('a string')
  let name: string
  switch (kind) {
    case 'did': {
      try {
        ensureValidDid(value)
      } catch {
        return fail('a DID a PDS hosts (did:plc:… or did:web:HOST)')
      }
      if (!/^did:plc:[a-z2-7]{24}$/.test(value) && !DID_WEB.test(value)) fail('a DID a PDS hosts (did:plc:… or did:web:HOST)')
      name = value.replace(/:/g, '_')
      break
    }
    case 'rev':
      if (!isValidTid(value)) fail('a TID')
      name = value
      break
    case 'cid': {
      let cid: CID
      try {
        cid = CID.parse(value)
      } catch {
        return fail('a CID')
      }
      if (cid.toString() !== value) fail(`a CID in its canonical form (${cid.toString()})`)
      name = value
      break
    }
    case 'rkey':
      if (!isValidRecordKey(value)) fail('a record key')
      name = value
      break
    case 'handle':
      if (!isValidHandle(value) || value !== value.toLowerCase()) fail('a handle (lower case)')
      name = value
      break
  }
  assertFileName(name)
  return name
}

/** The invariant fileNameFor keeps, checked once more: a single, ordinary path component. */
function assertFileName(name: string): void {
  if (name === '' || name.startsWith('.') || /[/\\\0]/.test(name) || Buffer.byteLength(name) > 240) {
    throw new UntrustedNameError('did', name, `${quoted(name)} cannot be a file name`)
  }
}

/**
 * The paths of a backup, relative to DIR with `/` separators, built from parsed names only.
 * Each throws an UntrustedNameError for a name that does not parse.
 */
export const backupPaths = {
  accountDir: (did: string) => `accounts/${fileNameFor('did', did)}`,
  state: (did: string) => `${backupPaths.accountDir(did)}/state.json`,
  account: (did: string) => `${backupPaths.accountDir(did)}/account.json`,
  repo: (did: string) => `${backupPaths.accountDir(did)}/repo.car`,
  diffs: (did: string) => `${backupPaths.accountDir(did)}/diffs`,
  diff: (did: string, rev: string, noun = 'rev') => `${backupPaths.diffs(did)}/${fileNameFor('rev', rev, noun)}.car`,
  blobs: (did: string) => `${backupPaths.accountDir(did)}/blobs`,
  blob: (did: string, cid: string, noun = 'blob') => `${backupPaths.blobs(did)}/${fileNameFor('cid', cid, noun)}`,
  blobMime: (did: string, cid: string) => `${backupPaths.blob(did, cid)}.mime`,
}
