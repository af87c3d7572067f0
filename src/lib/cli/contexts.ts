// Saved contexts: named connection settings in <configDir>/contexts.json, mode 0600 in a
// 0700 folder. A context holds where the PDS is and where its admin password comes from;
// the password itself only when the user asked for it to be stored.
// node:fs by getBuiltinModule, not an ES import: the import's namespace costs ~3.5 ms of
// every run (its lazy getters load fs/promises and more); see src/lib/pds/http.ts.
const fs = process.getBuiltinModule('node:fs')
import path from 'node:path'
import { NotFoundError, UsageError } from '../errors.js'
import type { SavedContext } from './settings.js'

export interface ContextFile {
  current?: string
  contexts: Record<string, SavedContext>
}

/** One row of `pdsctl context list` (its JSON shape). */
export interface ContextSummary {
  name: string
  current: boolean
  /** The URL, or `svc/NAME in namespace NS (kubectl port-forward)`. */
  target: string
  /** env-file, kube-secret NAME[:KEY], prompt, stored, or environment (unset: PDS_ADMIN_PASSWORD / prompt). */
  adminPassword: string
}

export function contextsPath(configDir: string): string {
  return path.join(configDir, 'contexts.json')
}

export function validateContextName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new UsageError(`"${name}" is not a valid context name`, { hint: 'Use letters, digits, dot, dash and underscore' })
  }
  return name
}

export async function readContexts(configDir: string): Promise<ContextFile> {
  try {
    const parsed = JSON.parse(fs.readFileSync(contextsPath(configDir), 'utf8')) as ContextFile
    return { current: parsed.current, contexts: parsed.contexts ?? {} }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} }
    throw new UsageError(`cannot read ${contextsPath(configDir)} (${(err as Error).message})`, { hint: 'Fix or remove that file' })
  }
}

/**
 * Write atomically with mode 0600 (the folder 0700): the file may hold a stored password.
 * The folder must be the user's own and writable by nobody else (another user who may
 * write it could swap contexts.json for one that sends the password to their server); the
 * temporary file is created exclusive and no-follow under an unguessable name, so a link
 * planted there is never written through, and renamed over contexts.json (a link there is
 * replaced, not followed).
 */
export async function writeContexts(configDir: string, file: ContextFile): Promise<void> {
  const { checkOwnFolder, writeFileReplacing } = await import('./safeFiles.js')
  const created = await fs.promises.mkdir(configDir, { recursive: true, mode: 0o700 })
  if (created !== undefined) await fs.promises.chmod(configDir, 0o700)
  const real = await checkOwnFolder(configDir, 'the pdsctl config folder (PDSCTL_CONFIG_DIR)')
  await writeFileReplacing(contextsPath(real), JSON.stringify(file, null, 2) + '\n', 0o600)
}

/** The named context, else the current one, else none. A name that does not exist is an error. */
export async function loadContext(configDir: string, name?: string): Promise<SavedContext | undefined> {
  const file = await readContexts(configDir)
  const wanted = name ?? file.current
  if (!wanted) return undefined
  const ctx = file.contexts[wanted]
  if (!ctx) {
    if (!name) return undefined
    throw new UsageError(`no saved context "${name}"`, { hint: 'See `pdsctl context list`' })
  }
  return ctx
}

export async function saveContext(configDir: string, name: string, ctx: SavedContext, opts: { use?: boolean; force?: boolean } = {}): Promise<ContextFile> {
  validateContextName(name)
  const file = await readContexts(configDir)
  if (file.contexts[name] && !opts.force) {
    throw new UsageError(`context "${name}" already exists`, { hint: 'Pass --force to replace it, or remove it first' })
  }
  file.contexts[name] = ctx
  if (opts.use || !file.current) file.current = name
  await writeContexts(configDir, file)
  return file
}

export async function useContext(configDir: string, name: string): Promise<void> {
  const file = await readContexts(configDir)
  if (!file.contexts[name]) throw new NotFoundError(`no saved context "${name}"`, { hint: 'See `pdsctl context list`' })
  file.current = name
  await writeContexts(configDir, file)
}

export async function removeContext(configDir: string, name: string): Promise<void> {
  const file = await readContexts(configDir)
  if (!file.contexts[name]) throw new NotFoundError(`no saved context "${name}"`, { hint: 'See `pdsctl context list`' })
  delete file.contexts[name]
  if (file.current === name) delete file.current
  await writeContexts(configDir, file)
}

export function summarizeContext(name: string, ctx: SavedContext, current: boolean): ContextSummary {
  let target = ctx.url ?? '(from the environment)'
  if (ctx.kube && (ctx.kube.service || ctx.kube.pod)) {
    const what = ctx.kube.pod ? `pod/${ctx.kube.pod}` : `svc/${ctx.kube.service}`
    target = `${what}${ctx.kube.namespace ? ` in namespace ${ctx.kube.namespace}` : ''}${ctx.kube.context ? ` (kube context ${ctx.kube.context})` : ''}`
  }
  const pw = ctx.adminPassword
  const adminPassword = !pw
    ? ctx.envFile
      ? 'env-file'
      : 'environment or prompt'
    : pw.from === 'kube-secret'
      ? `kube-secret ${pw.secret}${pw.key ? `:${pw.key}` : ''}`
      : pw.from
  return { name, current, target, adminPassword }
}
