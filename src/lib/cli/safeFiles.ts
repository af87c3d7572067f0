// Writing files in folders that someone else may have prepared: the primitives every file
// pdsctl writes goes through (backups, contexts, k8s manifests).
//
// Node has no openat(), so a path is only as safe as the folders it passes through. The
// rules, as ssh treats ~/.ssh and git treats a checkout:
// - the folder pdsctl was given belongs to the user running it and nobody else may write
//   it; no folder above it lets another user swap it (writable by others without the
//   sticky bit, or owned by someone but the user or root): checkOwnFolder;
// - below that folder nothing is followed: each folder is lstat'ed (a link is refused and
//   named), files are created with O_EXCL | O_NOFOLLOW under a temporary name and renamed
//   into place (rename replaces a link, it never writes through it), read with O_NOFOLLOW,
//   and deleted only after lstat says they are regular files;
// - modes are set explicitly (a mode passed to open/mkdir is only narrowed by the umask,
//   and a umask of 000 leaves 0777 folders): chmod after creation.
//
// Calls that only read metadata (lstat, fstat, a listing, opening a small file to read it)
// are synchronous: a few microseconds on the main thread, where each promise call goes
// through the thread pool and back (~30-60 us of CPU, ~0.3 ms for a FileHandle's open and
// close), and the backup makes hundreds. Calls that change the filesystem (create, rename,
// mkdir, chmod, unlink) stay asynchronous: they can wait for the filesystem's journal while
// another thread's fsync commits it, and on the main thread that wait would stall every
// transfer (a backup measured the same either way on this machine; the journal's waits
// are longer on a busy disk).
import { randomUUID } from 'node:crypto'
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, open as openCb, openSync, readFileSync, type Stats } from 'node:fs'
import { chmod, lstat, mkdir, open, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from '../errors.js'

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY } = constants

/** The uid of the user running pdsctl (undefined where there is none: Windows). */
function ownUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined
}

const modeText = (mode: number) => `0${(mode & 0o777).toString(8)}`

/** A symbolic link where pdsctl expected a file or folder of its own: refused and named. */
export class LinkRefusedError extends UsageError {
  constructor(readonly file: string, where: string) {
    super(`${file} is a symbolic link; pdsctl does not follow links inside ${where}`, {
      hint: 'Remove the link (or put the real file or folder in its place) and run again',
    })
  }
}

/**
 * `dir` (which must exist) is the user's own: a folder (reached through a link if the user
 * named one), owned by the user running pdsctl, writable by nobody else; every folder above
 * it is owned by the user or root and, if anyone else may write it, has the sticky bit (as
 * /tmp does). Otherwise a UsageError naming the folder and the fix.
 */
export async function checkOwnFolder(dir: string, what = 'the folder'): Promise<string> {
  const real = await realpath(dir)
  const st = await stat(real)
  if (!st.isDirectory()) throw new UsageError(`${dir} is not a folder`, { hint: `Give ${what} as a folder` })
  const uid = ownUid()
  if (uid === undefined) return real
  if (st.uid !== uid) {
    throw new UsageError(`${dir} belongs to user ${st.uid}, not to the user running pdsctl (${uid}): that user could change what pdsctl reads and writes there`, {
      hint: `Use a folder of your own, or make it yours: chown ${uid} ${dir}`,
    })
  }
  if (st.mode & 0o022) {
    throw new UsageError(`${dir} is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${modeText(st.mode)}): they could change what pdsctl reads and writes there`, {
      hint: `chmod go-w ${dir} (or chmod 700 ${dir})`,
    })
  }
  await checkFolderChain(path.dirname(real), dir)
  return real
}

/**
 * The folders from `from` up to / cannot be used by another user to replace what pdsctl
 * writes below them: each is owned by the user running pdsctl or root, and is not writable
 * by others unless it has the sticky bit (as /tmp). `what` is how errors name the thing below.
 */
export async function checkFolderChain(from: string, what: string): Promise<void> {
  const uid = ownUid()
  if (uid === undefined) return
  for (let p = path.resolve(from); ; p = path.dirname(p)) {
    const up = await stat(p)
    if (up.uid !== uid && up.uid !== 0) {
      throw new UsageError(`${p}, above ${what}, belongs to user ${up.uid}: that user could replace ${what}`, { hint: `Use a folder under one that only you (or root) own` })
    }
    if (up.mode & 0o002 && !(up.mode & 0o1000)) {
      throw new UsageError(`${p}, above ${what}, is writable by others without the sticky bit (mode ${modeText(up.mode)}): they could replace ${what}`, { hint: `chmod o-w ${p}` })
    }
    if (p === path.dirname(p)) break
  }
}

/** The folder a new file or folder at `target` would be made in: the nearest existing ancestor, its chain checked. */
export async function checkNewPathChain(target: string): Promise<void> {
  let p = path.dirname(path.resolve(target))
  while (!(await lstatIfAny(p)) && p !== path.dirname(p)) p = path.dirname(p)
  await checkFolderChain(p, target)
}

/**
 * A folder pdsctl keeps private, inside a folder already checked: made 0700 if missing,
 * otherwise it must be a real folder (not a link) of the user's, and is set to 0700.
 * `shown` is how errors name it.
 */
export async function ensurePrivateFolder(abs: string, shown: string, where: string): Promise<void> {
  let st = lstatSync(abs, { throwIfNoEntry: false })
  if (!st) {
    await mkdir(abs, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
    })
    st = lstatSync(abs)
  }
  if (st.isSymbolicLink()) throw new LinkRefusedError(shown, where)
  if (!st.isDirectory()) throw new UsageError(`${shown} is not a folder`, { hint: 'Move it away and run again' })
  const uid = ownUid()
  if (uid !== undefined && st.uid !== uid) throw new UsageError(`${shown} belongs to user ${st.uid}, not to the user running pdsctl (${uid})`, { hint: `chown -R ${uid} ${shown}` })
  if ((st.mode & 0o777) !== 0o700) await chmod(abs, 0o700)
}

/** lstat, or undefined when nothing is there (synchronous). */
export function lstatSyncIfAny(file: string): Stats | undefined {
  return lstatSync(file, { throwIfNoEntry: false })
}

/**
 * Make a file pdsctl just created (O_EXCL: its own) exactly `mode`: the mode given to open
 * is only narrowed by the umask. The usual umasks (022, 077) leave 0600 as it is: an fstat
 * (no write) says so, and the chmod, which dirties the inode (a journal entry), is skipped.
 */
export function setExactMode(fd: number, mode: number): void {
  if ((fstatSync(fd).mode & 0o7777) !== mode) fchmodSync(fd, mode)
}

/**
 * createExclusive as a file descriptor (fs.open's callback form: no FileHandle): `file`
 * must not exist (no link followed, even a dangling one), its mode exactly `mode`. The
 * caller closes it.
 */
export async function createExclusiveFd(file: string, mode: number): Promise<number> {
  const fd = await new Promise<number>((resolve, reject) => openCb(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode, (err, fd) => (err ? reject(err) : resolve(fd))))
  try {
    setExactMode(fd, mode)
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return fd
}

/**
 * Opens `file` for reading without following a link: its descriptor, undefined when missing; a
 * link is refused, and so is anything but a regular file. The caller closes the descriptor.
 */
export function openRegularNoFollowSync(file: string, shown: string, where: string): number | undefined {
  let fd: number
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new LinkRefusedError(shown, where)
    throw err
  }
  try {
    if (!fstatSync(fd).isFile()) throw new UsageError(`${shown} is not a regular file`, { hint: 'Move it away and run again' })
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return fd
}

/** readFileNoFollow, synchronously: a link or anything but a regular file is refused; undefined when missing. */
export function readFileNoFollowSync(file: string, shown: string, where: string): Buffer | undefined {
  const fd = openRegularNoFollowSync(file, shown, where)
  if (fd === undefined) return undefined
  try {
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** lstat, or undefined when nothing is there. */
export async function lstatIfAny(file: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await lstat(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** A name for a temporary file beside `file`, unguessable (a link cannot be planted at it in advance). */
export function tempPath(file: string): string {
  // 32 random bits, as randomBytes(4) gave, from randomUUID (a v4 UUID's first 8 hex digits
  // are random): it draws from a cache of random data Node keeps, ~1 us against ~15-20 us
  // for a call into the CSPRNG, and a backup makes a temp name per file.
  return `${file}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`
}

/** Create `file`, which must not exist (no link followed, even a dangling one), with exactly `mode`. */
export async function createExclusive(file: string, mode: number): Promise<FileHandle> {
  const fh = await open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
  try {
    // On the descriptor, synchronously: metadata calls of microseconds (see the top of this file).
    setExactMode(fh.fd, mode)
  } catch (err) {
    await fh.close().catch(() => {})
    throw err
  }
  return fh
}

/**
 * Write `file` whole: a temporary file beside it (exclusive, no-follow, `mode`), fsync'ed,
 * renamed over `file`. A link at `file` is replaced, never written through; readers never
 * see half a file.
 */
export async function writeFileReplacing(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = tempPath(file)
  const fh = await createExclusive(tmp, mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  try {
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

/**
 * Open a regular file for reading without following a link. Undefined when it does not
 * exist; a link or anything but a regular file is refused, named as `shown`.
 */
export async function openNoFollow(file: string, shown: string, where: string): Promise<FileHandle | undefined> {
  let fh: FileHandle
  try {
    fh = await open(file, O_RDONLY | O_NOFOLLOW)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new LinkRefusedError(shown, where)
    throw err
  }
  const st = await fh.stat()
  if (!st.isFile()) {
    await fh.close()
    throw new UsageError(`${shown} is not a regular file`, { hint: 'Move it away and run again' })
  }
  return fh
}

/** Read a whole file without following a link (undefined when missing). */
export async function readFileNoFollow(file: string, shown: string, where: string): Promise<Buffer | undefined> {
  const fh = await openNoFollow(file, shown, where)
  if (!fh) return undefined
  try {
    return await fh.readFile()
  } finally {
    await fh.close()
  }
}

/**
 * Delete `file` if it is a regular file; nothing when it is missing. A link is refused and
 * named (never deleted, never followed), as is anything but a regular file.
 */
export async function removeRegularFile(file: string, shown: string, where: string): Promise<boolean> {
  const st = await lstatIfAny(file)
  if (!st) return false
  if (st.isSymbolicLink()) throw new LinkRefusedError(shown, where)
  if (!st.isFile()) throw new UsageError(`${shown} is not a regular file; not deleted`)
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err
  })
  return true
}

/** `rel` resolved under `root`, refused unless it stays strictly inside (no `..` out, not absolute). */
export function resolveInside(root: string, rel: string): string {
  const abs = path.resolve(root, rel)
  const back = path.relative(root, abs)
  if (back === '' || back === '..' || back.startsWith(`..${path.sep}`) || path.isAbsolute(back) || path.isAbsolute(rel)) {
    throw new UsageError(`a path that leads outside ${root} was refused`)
  }
  return abs
}
