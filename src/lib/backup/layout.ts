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
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import path from 'node:path'

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
  pds: { url: string; version: string | null }
  startedAt: string
  endedAt: string
  totals: { accounts: number; blobs: number; bytes: number }
  errors: Array<{ account: string; error: string }>
  accounts: AccountState[]
}

export function accountDir(did: string): string {
  return path.join('accounts', did.replace(/:/g, '_'))
}

export function tempName(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
}

export function isTempName(name: string): boolean {
  return /\.tmp-\d+-[0-9a-f]{8}$/.test(name)
}

/** Write a small file atomically (temp name in the same folder, fsync, rename). */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<{ size: number; sha256: string }> {
  await mkdir(path.dirname(file), { recursive: true })
  const tmp = tempName(file)
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  return { size: buf.length, sha256: createHash('sha256').update(buf).digest('hex') }
}

/** sha256 and size of a file, read through one reused 1 MB buffer (memory flat in file size, no garbage). */
export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(1 << 20)
  let size = 0
  const fh = await open(file, 'r')
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

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => {})
}
