// A private key written to a file: a new file only (O_CREAT|O_EXCL: an existing file is
// never replaced), never through a symbolic link (O_NOFOLLOW, and O_EXCL refuses a link
// planted at the name), mode 0600 from its creation (and set again, as the umask only
// narrows what open asks for).
import { constants } from 'node:fs'
import { lstat, open, rm } from 'node:fs/promises'
import { UsageError } from '../errors.js'

/** Before anything secret exists: may `path` be created? */
export async function checkNewFile(path: string): Promise<void> {
  try {
    const st = await lstat(path)
    throw new UsageError(`${path} exists${st.isSymbolicLink() ? ' (a symbolic link)' : ''}; refusing to write a private key over it`, { hint: 'Name a new file' })
  } catch (err) {
    if (err instanceof UsageError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw new UsageError(`cannot write ${path} (${code ?? (err as Error).message})`)
  }
}

export async function writeNewSecretFile(path: string, content: string): Promise<void> {
  let fh
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(code === 'EEXIST' || code === 'ELOOP' ? `${path} exists; refusing to write a private key over it` : `cannot write ${path} (${code ?? (err as Error).message})`, { hint: 'Name a new file' })
  }
  try {
    await fh.writeFile(content)
    await fh.chmod(0o600)
    await fh.sync()
    await fh.close()
  } catch (err) {
    await fh.close().catch(() => {})
    await rm(path, { force: true })
    throw new UsageError(`cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}
