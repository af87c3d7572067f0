// The state file of one account migration: what a later run needs to continue that it
// cannot read back from the two PDSes or the PLC directory. It lives under the user's
// config directory (<configDir>/migrations/, mode 0700), one file per DID, direction and
// other PDS, mode 0600. It never holds a password. It holds the new account's refresh
// token (a session, so that a rerun needs no new password; dropped when the migration is
// verified), the signed PLC operation (saved before it is submitted: once it lands the old
// PDS can no longer sign one), when a PLC token was mailed, and the choices of the first
// run (handle, email), so the second one makes the same account.
//
// Written to a temp file created exclusively without following links (O_EXCL|O_NOFOLLOW,
// 0600), fsynced and renamed over the old one, then the folder fsynced: a crash leaves
// either the old file or the new one. Read without following links, and only when it is
// a regular file of this user that nobody else can read.
import { createHash, randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from '../errors.js'

export const STATE_FORMAT = 'pdsctl-migration/1'

export type Direction = 'in' | 'out'

export interface MigrationState {
  format: typeof STATE_FORMAT
  did: string
  direction: Direction
  /** The old PDS (origin) and the new one, as pdsctl reached them. */
  from: string
  to: string
  createdAt: string
  updatedAt: string
  oldHandle?: string
  /** The handle, email and service DID the new account was (or is to be) created with. */
  handle?: string
  email?: string
  newPdsDid?: string
  /** Each PDS's own public endpoint, from getRecommendedDidCredentials: what the DID document names. */
  endpoints?: { old?: string; new?: string }
  /** The new PDS's atproto signing key for the account (recommended credentials). */
  newSigningKey?: string
  /** The new account's session (refresh token only), until the migration is verified. */
  session?: { refreshJwt: string; savedAt: string }
  /** The old repository as imported: its commit and rev, and the new PDS's rev right after. */
  imported?: { commit: string; rev: string; newRev?: string; at: string }
  /** Blobs the old PDS no longer has (answered not found): they cannot be copied. */
  unavailableBlobs?: string[]
  /** When the new PDS was last found to hold the old preferences (copied, or already the same). */
  preferencesSyncedAt?: string
  plc?: {
    tokenRequestedAt?: string
    /** The operation the old PDS signed, saved before it was submitted. */
    signed?: { operation: Record<string, unknown>; prev: string; signedAt: string }
    submittedAt?: string
  }
  activatedAt?: string
  deactivatedAt?: string
  verifiedAt?: string
  /** The last run's outcome, for --status. */
  lastRun?: { at: string; step?: string; error?: string }
}

/** did:plc:abc → did_plc_abc. Only a DID that parsed as did:plc or did:web gets here; anything else is refused. */
export function didFileName(did: string): string {
  if (/^did:plc:[a-z2-7]{24}$/.test(did)) return did.replace(/:/g, '_')
  const web = /^did:web:([a-zA-Z0-9.-]+(?:%3[aA][0-9]{1,5})?)$/.exec(did)
  if (web && !web[1].startsWith('.')) return `did_web_${web[1].replace(/%3[aA]/, '_')}`
  throw new UsageError(`"${did}" is not a did:plc or did:web DID`)
}

export function migrationsDir(configDir: string): string {
  return path.join(configDir, 'migrations')
}

/** The state file of DID moving in `direction` with `other` (the PDS named by --from or --to). */
export function statePath(configDir: string, did: string, direction: Direction, other: string): string {
  const tag = createHash('sha256').update(new URL(other).origin).digest('hex').slice(0, 12)
  return path.join(migrationsDir(configDir), `${didFileName(did)}.${direction}.${tag}.json`)
}

export function newState(did: string, direction: Direction, from: string, to: string): MigrationState {
  const now = new Date().toISOString()
  return { format: STATE_FORMAT, did, direction, from, to, createdAt: now, updatedAt: now }
}

/** The folder, made 0700 if missing; refused when it is a link or open to others. */
async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await lstat(dir)
  if (st.isSymbolicLink() || !st.isDirectory()) throw new UsageError(`${dir} is not a folder (a link?)`, { hint: 'Remove it; pdsctl keeps migration state there' })
  checkOwnerAndMode(dir, st, 0o022)
}

function checkOwnerAndMode(file: string, st: { uid: number; mode: number }, forbidden: number): void {
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new UsageError(`${file} belongs to another user`, { hint: 'Migration state must be your own: remove it, or run as its owner' })
  }
  if ((st.mode & forbidden) !== 0) {
    throw new UsageError(`${file} is open to other users (mode ${(st.mode & 0o777).toString(8)})`, { hint: `chmod go-rwx ${file}` })
  }
}

/** The state saved by an earlier run, or undefined when there is none. */
export async function readState(file: string): Promise<MigrationState | undefined> {
  let st
  try {
    st = await lstat(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  if (!st.isFile()) throw new UsageError(`${file} is not a regular file (a link?)`, { hint: 'Remove it: pdsctl never follows links there' })
  checkOwnerAndMode(file, st, 0o077)
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  let text: string
  try {
    text = await fh.readFile('utf8')
  } finally {
    await fh.close()
  }
  let parsed: MigrationState
  try {
    parsed = JSON.parse(text) as MigrationState
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message})`, { hint: "Remove it to start the migration's bookkeeping afresh (the PDSes keep what was done)" })
  }
  if (parsed?.format !== STATE_FORMAT || typeof parsed.did !== 'string' || (parsed.direction !== 'in' && parsed.direction !== 'out')) {
    throw new UsageError(`${file} is not a pdsctl migration state (${STATE_FORMAT})`, { hint: 'Remove it, or check --from / --to' })
  }
  return parsed
}

/** Save atomically: temp file (O_EXCL|O_NOFOLLOW, 0600) in the same folder, fsync, rename, fsync the folder. */
export async function writeState(file: string, state: MigrationState): Promise<void> {
  const dir = path.dirname(file)
  await ensureDir(dir)
  state.updatedAt = new Date().toISOString()
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    await fh.writeFile(JSON.stringify(state, null, 2) + '\n')
    await fh.chmod(0o600) // the umask only narrows what open asked for; make sure
    await fh.sync()
  } catch (err) {
    await fh.close()
    await rm(tmp, { force: true })
    throw err
  }
  await fh.close()
  await rename(tmp, file)
  const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await d.sync()
  } finally {
    await d.close()
  }
}

/** Temp files of a run killed while saving: never complete, so removed. */
export async function sweepTempStates(configDir: string): Promise<void> {
  const dir = migrationsDir(configDir)
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isFile() && /^\..*\.[0-9a-f]{12}\.tmp$/.test(entry.name)) await rm(path.join(dir, entry.name), { force: true })
  }
}

/** Every saved migration (for finding a DID by its old handle after the old PDS stopped resolving it). */
export async function listStates(configDir: string): Promise<MigrationState[]> {
  const dir = migrationsDir(configDir)
  const out: MigrationState[] = []
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile() || !/^did_[a-z]+_[A-Za-z0-9._-]+\.(in|out)\.[0-9a-f]{12}\.json$/.test(entry.name)) continue
    const s = await readState(path.join(dir, entry.name)).catch(() => undefined)
    if (s) out.push(s)
  }
  return out
}
