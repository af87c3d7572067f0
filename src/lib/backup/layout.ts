// The on-disk layout of a backup folder, and the small file primitives every part of it
// uses: write to a temp name in the same folder, fsync, rename (so a file under its
// final name is always complete), and sha256 of a file read as a stream.
//
// DIR/
//   manifest.json                      written last, from every account's state.json
//   accounts/<did with : as _>/
//     state.json                       this account's manifest entry; written after its files
//     account.json                     the admin view (handle, email, status, invites)
//     repo.car                         the full repository at state.repo.rev
//     diffs/<rev>.car                  getRepo?since=<previous rev>: what changed since
//     blobs/<cid>                      each blob, kept only after its bytes matched its CID
import { createHash } from 'node:crypto'
import { closeSync, fsync, unlinkSync, writeSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { createExclusiveFd, openNoFollow, readFileNoFollow, readFileNoFollowSync, tempPath } from '../cli/safeFiles.js'
import { backupPaths, fileNameFor, quoted } from './safePaths.js'

export const MANIFEST_FORMAT = 'pdsctl-backup/1'

/** A file of the backup, relative to DIR, with its size and sha256 (hex). */
export interface FileEntry {
  path: string
  size: number
  sha256: string
}

export interface BlobEntry {
  cid: string
  size: number
  sha256: string
  mimeType: string | null
}

/** One account in the manifest (and its state.json). */
export interface AccountState {
  did: string
  handle: string | null
  /** active, takendown, deactivated, … as listRepos / getRepoStatus said. */
  status: string
  /** The rev of the newest commit held (the last diff's, else the full CAR's). */
  rev: string
  /** CID of that commit. */
  head: string
  repo: FileEntry & { rev: string }
  diffs: Array<FileEntry & { rev: string; since: string }>
  account: FileEntry
  blobs: BlobEntry[]
  backedUpAt: string
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT
  pdsctl: string
  /** The PDS backed up: its URL, version, and service DID (describeServer; null when it did not say). */
  pds: { url: string; version: string | null; did?: string | null }
  startedAt: string
  endedAt: string
  totals: { accounts: number; blobs: number; bytes: number }
  errors: Array<{ account: string; error: string }>
  accounts: AccountState[]
}

/** DIR-relative folder of an account (see safePaths.ts: the DID is parsed, never used raw). */
export function accountDir(did: string): string {
  return backupPaths.accountDir(did)
}

export function tempName(file: string): string {
  return tempPath(file)
}

export function isTempName(name: string): boolean {
  return /\.tmp-\d+-[0-9a-f]{8}$/.test(name)
}

/** How errors name what is inside a backup folder. */
export const IN_BACKUP = 'a backup folder'

/**
 * Write a small file atomically inside a folder pdsctl checked (temp name created
 * exclusive and no-follow, mode 0600, fsync, rename: a link at `file` is replaced, not
 * written through).
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<{ size: number; sha256: string }> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  const tmp = tempPath(file)
  await writeNewFileDurable(tmp, buf)
  try {
    await rename(tmp, file)
  } catch (err) {
    unlinkQuietlySync(tmp)
    throw err
  }
  return { size: buf.length, sha256: createHash('sha256').update(buf).digest('hex') }
}

/**
 * Write `data` to `file`, which must not exist (created exclusive and no-follow, mode 0600
 * whatever the umask: createExclusiveFd), and fsync it; removed again if anything fails.
 * The create and the fsync run in the thread pool (they can wait for the disk); the write
 * of a few KB into the page cache and the close are synchronous, and no FileHandle is
 * made (~0.3 ms of CPU for its round trips).
 */
export async function writeNewFileDurable(file: string, data: Buffer): Promise<void> {
  const fd = await createExclusiveFd(file, 0o600)
  try {
    writeAllSync(fd, data)
    await fsyncFd(fd)
  } catch (err) {
    closeSync(fd)
    unlinkQuietlySync(file)
    throw err
  }
  closeSync(fd)
}

/** Write all of `buf` at the file's position: a short write (a full disk can give one) is written on, never taken for the whole. */
export function writeAllSync(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off)
}

/** fsync(2) of a descriptor, in the thread pool (it waits for the disk). */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())))
}

/** unlink a file pdsctl made (a temp file), ignoring that it is already gone. */
export function unlinkQuietlySync(file: string): void {
  try {
    unlinkSync(file)
  } catch {
    /* already gone */
  }
}

/** sha256 and size of a file (never through a link), read through one reused 1 MB buffer (memory flat in file size, no garbage). */
export async function hashFile(file: string, shown = file): Promise<{ size: number; sha256: string }> {
  const fh = await openNoFollow(file, shown, IN_BACKUP)
  if (!fh) throw Object.assign(new Error(`${shown} is missing`), { code: 'ENOENT' })
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(1 << 20)
  let size = 0
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      size += bytesRead
    }
  } finally {
    await fh.close()
  }
  return { size, sha256: hash.digest('hex') }
}

/** A JSON file of the backup (never read through a link); undefined when missing. */
export async function readJson<T>(file: string, shown = file): Promise<T | undefined> {
  const buf = await readFileNoFollow(file, shown, IN_BACKUP)
  return buf === undefined ? undefined : (JSON.parse(buf.toString('utf8')) as T)
}

/** readJson, synchronously (small files: see writeNewFileDurable). */
export function readJsonSync<T>(file: string, shown = file): T | undefined {
  const buf = readFileNoFollowSync(file, shown, IN_BACKUP)
  return buf === undefined ? undefined : (JSON.parse(buf.toString('utf8')) as T)
}

export async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => {})
}

/**
 * What is wrong with an account's entry (a manifest's, or its state.json), as lines that
 * name the field; empty when every name parses and every path is the one pdsctl writes for
 * it. `folderDid`, when given, is the DID whose folder the entry was read from.
 */
export function entryProblems(entry: unknown, folderDid?: string): string[] {
  const problems: string[] = []
  const e = entry as Partial<AccountState> | null
  if (typeof e !== 'object' || e === null) return ['it is not an object']
  let did: string
  try {
    fileNameFor('did', e.did)
    did = e.did as string
  } catch (err) {
    return [(err as Error).message]
  }
  if (folderDid !== undefined && did !== folderDid) problems.push(`it names the account ${quoted(did)}, not the one whose folder holds it`)
  const check = (fn: () => void) => {
    try {
      fn()
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  const file = (f: unknown, want: () => string, what: string) => {
    const x = f as Partial<FileEntry> | undefined
    if (typeof x !== 'object' || x === null) return problems.push(`its ${what} is missing`)
    check(() => {
      const expected = want()
      if (x.path !== expected) problems.push(`its ${what} path is not the file pdsctl writes (${expected})`)
    })
    if (!Number.isSafeInteger(x.size) || (x.size as number) < 0) problems.push(`its ${what} has no valid size`)
    if (typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)) problems.push(`its ${what} has no valid sha256`)
  }
  check(() => fileNameFor('rev', e.rev, 'its rev'))
  check(() => {
    if (typeof e.head !== 'string') throw new Error('its head is missing')
    fileNameFor('cid', e.head, 'its head')
  })
  file(e.repo, () => backupPaths.repo(did), 'repository')
  check(() => fileNameFor('rev', e.repo?.rev, "its repository's rev"))
  file(e.account, () => backupPaths.account(did), 'account.json')
  if (!Array.isArray(e.diffs)) problems.push('its diffs list is missing')
  else {
    e.diffs.forEach((d, i) => {
      const n = `diff ${i + 1}`
      check(() => fileNameFor('rev', d?.since, `${n}: since`))
      file(d, () => backupPaths.diff(did, d?.rev, `${n}: rev`), n)
    })
  }
  if (!Array.isArray(e.blobs)) problems.push('its blobs list is missing')
  else {
    for (const b of e.blobs) {
      check(() => fileNameFor('cid', b?.cid, 'blob'))
      if (!Number.isSafeInteger(b?.size) || b.size < 0 || typeof b?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(b.sha256)) problems.push(`blob ${quoted(b?.cid)} has no valid size or sha256`)
    }
  }
  return problems
}
