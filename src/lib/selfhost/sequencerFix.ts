// `pdsctl relay fix-desync` on the PDS's host: the fix of the PDS README's "Fixing a Relay
// desync" (bluesky-social/pds), done with checks. A relay keeps the last seq it saw from a
// host and ignores events numbered at or below it; a PDS whose sequencer.sqlite was recreated
// or restored numbers its events from a lower seq again, so its new posts never reach the
// network. The PDS numbers events with SQLite's AUTOINCREMENT on repo_seq, whose counter is
// the repo_seq row of sqlite_sequence: raising that row above the relay's seq makes the next
// event (and every later one) reach the relay.
//
// SQLite comes from node:sqlite, built into Node (22.13+ without a flag; Stability 1.1 on
// Node 22 and 24, 1.2 "release candidate" on 26; Node 22 prints an ExperimentalWarning when
// it loads). pdsctl has no native dependency, and a native SQLite module would have to be
// compiled for the operator's Node: node:sqlite is the lighter trade, and it is loaded only
// by this command.
//
// The order of things: the data directory and the database file are checked like a vault (no
// links followed, regular files owned by the user, not writable by others); the database is
// opened without being created and locked EXCLUSIVE, which fails while any process (the PDS)
// has it open; the counter is read; only when it must rise is the file copied aside (SQLite's
// backup API, so a WAL left by a crash is in the copy; a new 0600 file, never an earlier copy
// overwritten) and the counter raised, in a transaction, and read back.
import { constants as fsc } from 'node:fs'
import { lstat, open, readdir, realpath } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { NotFoundError, PdsctlError, UsageError } from '../errors.js'

export const SEQUENCER_DB = 'sequencer.sqlite'

/** `pdsctl relay fix-desync --json` (on the PDS's host). */
export interface DesyncFixReport {
  dataDir: string
  database: string
  /** The relay's seq for this host, as given (--to-seq). */
  toSeq: number
  /** The sequence before: the last seq handed out (the larger of the counter and the newest event). */
  before: number
  /** The counter now (toSeq + 1 when changed, as the PDS README sets it). */
  after: number
  /** The seq the PDS's next event will get. */
  nextSeq: number
  changed: boolean
  /** The copy of sequencer.sqlite made before the change (null when nothing changed). */
  backup: string | null
}

export interface FixOptions {
  now?: Date
  /** The user the files must belong to (default: process.getuid()). */
  uid?: number
}

/** A path the operator gave, checked before anything is opened: a real directory, theirs, not writable by others. */
export async function checkDataDir(dir: string, uid: number): Promise<string> {
  const abs = path.resolve(dir)
  const st = await lstat(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new UsageError(`--data-dir ${dir} does not exist`, { hint: "Give the PDS's data directory (PDS_DATA_DIRECTORY, /pds in the official install)" })
    throw new PdsctlError(`cannot read --data-dir ${dir}: ${err.code ?? err.message}`)
  })
  if (st.isSymbolicLink()) {
    const target = await realpath(abs).catch(() => null)
    throw new UsageError(`--data-dir ${dir} is a symbolic link; pdsctl does not follow links here`, { hint: target ? `Give the directory itself: --data-dir ${target}` : 'Give the directory itself' })
  }
  if (!st.isDirectory()) throw new UsageError(`--data-dir ${dir} is not a directory`)
  ownedAndClosed(abs, st, uid, 'the data directory')
  // Its parents too (as ssh's StrictModes): someone who can rename a parent can swap the directory.
  for (let p = path.dirname(abs); ; p = path.dirname(p)) {
    const ps = await lstat(p)
    const sticky = (ps.mode & 0o1000) !== 0
    if (ps.uid !== uid && ps.uid !== 0) throw new UsageError(`${p} (a parent of the data directory) belongs to user ${ps.uid}, not to you or root`, { hint: 'Move the data directory, or run as the owner' })
    if ((ps.mode & 0o022) !== 0 && !sticky) throw new UsageError(`${p} (a parent of the data directory) is writable by group or others`, { hint: `chmod go-w ${p}` })
    if (p === path.dirname(p)) break
  }
  return abs
}

function ownedAndClosed(p: string, st: { uid: number; mode: number }, uid: number, what: string): void {
  if (st.uid !== uid) {
    throw new UsageError(`${p} (${what}) belongs to user ${st.uid}, not to you (${uid})`, { hint: 'Run pdsctl as the user that owns the PDS\'s files (often root: sudo)' })
  }
  if ((st.mode & 0o022) !== 0) throw new UsageError(`${p} (${what}) is writable by group or others`, { hint: `chmod go-w ${p}` })
}

/** The sequencer database in DIR: a regular file of the user's, and no link beside it that SQLite would follow. */
export async function checkSequencerDb(dir: string, uid: number): Promise<string> {
  const file = path.join(dir, SEQUENCER_DB)
  const st = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new NotFoundError(`no ${SEQUENCER_DB} in ${dir}`, { hint: "Is this the PDS's data directory (PDS_DATA_DIRECTORY)? A PDS with PDS_SEQUENCER_DB_LOCATION set keeps it elsewhere" })
    throw new PdsctlError(`cannot read ${file}: ${err.code ?? err.message}`)
  })
  if (st.isSymbolicLink()) throw new UsageError(`${file} is a symbolic link; pdsctl does not follow links here`)
  if (!st.isFile()) throw new UsageError(`${file} is not a regular file`)
  ownedAndClosed(file, st, uid, 'the sequencer database')
  for (const side of ['-wal', '-shm', '-journal']) {
    const s = await lstat(file + side).catch(() => null)
    if (s && !s.isFile()) throw new UsageError(`${file + side} is not a regular file (a link?); pdsctl does not follow links here`)
  }
  return file
}

type Db = {
  exec(sql: string): void
  prepare(sql: string): { get(...a: unknown[]): Record<string, unknown> | undefined; run(...a: unknown[]): { changes: number | bigint } }
  close(): void
}

/** The local fix. Throws a PdsctlError naming what stopped it; changes nothing before the copy is made. */
export async function fixSequencer(dataDir: string, toSeq: number, opts: FixOptions = {}): Promise<DesyncFixReport> {
  const uid = opts.uid ?? process.getuid?.() ?? 0
  const dir = await checkDataDir(dataDir, uid)
  const file = await checkSequencerDb(dir, uid)
  const sqlite = await import('node:sqlite')
  const url = pathToFileURL(file)
  url.searchParams.set('mode', 'rw') // open, never create
  let db: Db
  try {
    db = new sqlite.DatabaseSync(url, { timeout: 0 }) as unknown as Db
  } catch (err) {
    throw new PdsctlError(`cannot open ${file}: ${sqliteWords(err)}`)
  }
  try {
    try {
      // EXCLUSIVE locking mode, taken now and kept until close: it fails while another
      // process has the database open (a running PDS holds a shared lock on it in WAL mode).
      db.exec('PRAGMA locking_mode = EXCLUSIVE')
      db.exec('BEGIN EXCLUSIVE')
    } catch (err) {
      if (isBusy(err)) {
        throw new PdsctlError(`${file} is in use (the database is locked): the PDS is still running`, {
          hint: 'Stop it first (docker compose stop pds, or systemctl stop pds), then run this again',
        })
      }
      throw new PdsctlError(`cannot lock ${file}: ${sqliteWords(err)}`)
    }
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'repo_seq'").get()
    if (!table) {
      db.exec('ROLLBACK')
      throw new PdsctlError(`${file} has no repo_seq table: it is not a PDS sequencer database`)
    }
    const counter = num(db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'").get()?.seq)
    const newest = num(db.prepare('SELECT max(seq) AS seq FROM repo_seq').get()?.seq)
    db.exec('COMMIT')
    const before = Math.max(counter, newest)
    const report = { dataDir: dir, database: file, toSeq }
    if (before > toSeq) return { ...report, before, after: before, nextSeq: before + 1, changed: false, backup: null }

    const backup = await copyAside(db, sqlite.backup, dir, opts.now ?? new Date())
    const target = toSeq + 1
    db.exec('BEGIN IMMEDIATE')
    try {
      const updated = db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'repo_seq'").run(target)
      if (Number(updated.changes) === 0) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('repo_seq', ?)").run(target)
      const now = num(db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'").get()?.seq)
      if (now !== target) throw new PdsctlError(`the sequence reads ${now} after setting it to ${target}; nothing was changed`)
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      throw err instanceof PdsctlError ? err : new PdsctlError(`could not raise the sequence: ${sqliteWords(err)}; nothing was changed`)
    }
    return { ...report, before, after: target, nextSeq: target + 1, changed: true, backup }
  } finally {
    db.close()
  }
}

/** A new 0600 file beside the database (never an earlier copy), filled by SQLite's backup API. */
async function copyAside(db: Db, backup: (db: never, path: string) => Promise<number>, dir: string, now: Date): Promise<string> {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const base = path.join(dir, `${SEQUENCER_DB}.before-fix-desync-${stamp}`)
  const names = new Set(await readdir(dir))
  let file = base
  for (let n = 2; names.has(path.basename(file)) || names.has(path.basename(file) + '-wal'); n++) file = `${base}-${n}`
  const fh = await open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new PdsctlError(`cannot create the copy ${file}: ${err.code ?? err.message}; nothing was changed`)
  })
  let ino: number
  try {
    await fh.chmod(0o600) // whatever the umask
    ino = (await fh.stat()).ino
  } finally {
    await fh.close()
  }
  try {
    await backup(db as never, file)
  } catch (err) {
    throw new PdsctlError(`copying ${SEQUENCER_DB} to ${file} failed: ${sqliteWords(err)}; nothing was changed`)
  }
  const st = await lstat(file)
  if (!st.isFile() || st.ino !== ino || st.size === 0) throw new PdsctlError(`the copy ${file} is not the file pdsctl created; nothing was changed`)
  return file
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0
}

function isBusy(err: unknown): boolean {
  const e = err as { errcode?: number; message?: string }
  return e?.errcode === 5 || e?.errcode === 6 || /database is locked|database table is locked/i.test(String(e?.message))
}

function sqliteWords(err: unknown): string {
  const e = err as { errstr?: string; message?: string }
  return e?.message ?? e?.errstr ?? String(err)
}

/** What to run after the fix (the steps are the same on every host). */
export function nextSteps(toSeq: number, bin = 'pdsctl'): string[] {
  return [
    'start the PDS (docker compose start pds, or systemctl start pds)',
    `make one event so the PDS's sequence passes ${toSeq}: a post, or \`${bin} doctor\` (its firehose check sends one account event that changes nothing); until then the relay's cursor is still ahead`,
    `\`${bin} request-crawl\``,
    `\`${bin} relay status\` to confirm (the relay's seq now below the PDS's)`,
  ]
}
