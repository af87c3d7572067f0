// `pdsctl secrets generate`: the PDS's secrets, made as the official installer makes them
// (16 random bytes as hex for the JWT secret and the admin password) plus the PLC rotation
// key (secp256k1, from @atproto/crypto, never hand-rolled curve code), rendered as a
// pds.env fragment, a Kubernetes Secret, or JSON.
import { randomBytes } from 'node:crypto'
import { lstat, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { UsageError } from '../errors.js'
import { parseEmail } from '../pds/identifiers.js'
import { registerUrlPassword } from '../redaction.js'
import { redactSmtpUrl } from './smtp.js'

export interface GeneratedSecrets {
  jwtSecret: string
  adminPassword: string
  /** secp256k1 private key, 64 hex characters. */
  plcRotationKey: string
  /** The rotation key's public did:key, to recognise it later (e.g. in a PLC audit log). */
  rotationKeyDidKey: string
  smtpServer?: string
  smtpFromAddress?: string
}

export type SecretsFormat = 'env' | 'k8s' | 'json'

export function parseSmtpUrl(input: string): string {
  // Its password is never shown (a message below quotes the URL).
  registerUrlPassword(input)
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new UsageError(`"${redactSmtpUrl(input)}" is not an SMTP URL`, { hint: 'e.g. smtps://user:password@smtp.example.com:465' })
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new UsageError('the SMTP URL must start with smtp:// or smtps://')
  if (!url.hostname) throw new UsageError('the SMTP URL has no host')
  return input
}

export function parseK8sName(input: string, what: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(input)) throw new UsageError(`${what} "${input}" is not a valid Kubernetes name (lowercase letters, digits, -)`)
  return input
}

export async function generateSecrets(input: { smtpUrl?: string; fromAddress?: string } = {}): Promise<GeneratedSecrets> {
  const smtpServer = input.smtpUrl === undefined ? undefined : parseSmtpUrl(input.smtpUrl)
  const smtpFromAddress = input.fromAddress === undefined ? undefined : parseEmail(input.fromAddress)
  const { Secp256k1Keypair } = await import('@atproto/crypto')
  const key = await Secp256k1Keypair.create({ exportable: true })
  return {
    jwtSecret: randomBytes(16).toString('hex'),
    adminPassword: randomBytes(16).toString('hex'),
    plcRotationKey: Buffer.from(await key.export()).toString('hex'),
    rotationKeyDidKey: key.did(),
    ...(smtpServer ? { smtpServer } : {}),
    ...(smtpFromAddress ? { smtpFromAddress } : {}),
  }
}

const WARNING = 'Secrets: never commit this file. Seal it (kubeseal --format yaml < secret.yaml > sealed-secret.yaml) or keep it in a secret manager.'

/** The Secret's keys, as the manifests (src/lib/k8sManifests.ts) reference them. */
export const SECRET_KEYS = {
  adminPassword: 'PDS_ADMIN_PASSWORD',
  jwtSecret: 'PDS_JWT_SECRET',
  plcRotationKey: 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX',
  smtpServer: 'PDS_EMAIL_SMTP_URL',
  smtpFromAddress: 'PDS_EMAIL_FROM_ADDRESS',
} as const

export async function renderSecrets(s: GeneratedSecrets, format: SecretsFormat, opts: { name?: string; namespace?: string } = {}): Promise<string> {
  if (format === 'json') return JSON.stringify(s, null, 2) + '\n'
  if (format === 'env') {
    const lines = [
      `# ${WARNING}`,
      `# PLC rotation key (public): ${s.rotationKeyDidKey}`,
      ...Object.entries(SECRET_KEYS)
        .filter(([k]) => s[k as keyof GeneratedSecrets] !== undefined)
        .map(([k, envName]) => `${envName}=${shellQuote(String(s[k as keyof GeneratedSecrets]))}`),
    ]
    return lines.join('\n') + '\n'
  }
  const { stringify } = await import('yaml')
  const data: Record<string, string> = {}
  for (const k of Object.keys(SECRET_KEYS) as Array<keyof typeof SECRET_KEYS>) {
    const v = s[k]
    if (v !== undefined) data[k] = Buffer.from(v, 'utf8').toString('base64')
  }
  const doc = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: parseK8sName(opts.name ?? 'pds-secrets', 'Secret name'),
      ...(opts.namespace ? { namespace: parseK8sName(opts.namespace, 'namespace') } : {}),
      annotations: { 'pdsctl/rotation-key-did': s.rotationKeyDidKey },
    },
    type: 'Opaque',
    data,
  }
  return `# ${WARNING}\n` + stringify(doc, { lineWidth: 0 })
}

/** Single-quote for a pds.env read by pdsctl or by a shell; hex and URLs rarely need it. */
function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`
}

/**
 * Before anything is generated: may `path` be written? Without --force it must not exist
 * (so no rotation key is printed and then thrown away); with --force it may be a regular
 * file, never a symlink (the secrets would land wherever it points) or anything else.
 */
export async function checkSecretTarget(path: string, opts: { force?: boolean } = {}): Promise<void> {
  // Not in a folder another user may write (or above one): they could swap the file for theirs.
  const { checkNewPathChain } = await import('../cli/safeFiles.js')
  await checkNewPathChain(path)
  let st
  try {
    st = await lstat(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    throw new UsageError(`cannot write ${path} (${code ?? (err as Error).message})`)
  }
  if (st.isSymbolicLink()) {
    throw new UsageError(`${path} is a symbolic link; refusing to write secrets through it`, { hint: 'Name the real file, or remove the link' })
  }
  if (!st.isFile()) throw new UsageError(`${path} exists and is not a regular file`)
  if (!opts.force) throw new UsageError(`${path} exists`, { hint: 'Pass --force to overwrite it' })
}

/**
 * Write the file with mode 0600. A new file is created exclusively (O_EXCL: a link planted
 * there is not followed). With force, the content goes to a new temporary file in the same
 * folder (mode 0600 from the start) that is then renamed over the old one: rename replaces
 * the name itself, so a symlink is never followed and readers never see half a file.
 */
export async function writeSecretFile(path: string, content: string, opts: { force?: boolean } = {}): Promise<void> {
  await checkSecretTarget(path, opts)
  const target = opts.force ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : path
  let fh
  try {
    fh = await open(target, 'wx', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new UsageError(`${path} exists`, { hint: 'Pass --force to overwrite it' })
    throw new UsageError(`cannot write ${path} (${code ?? (err as Error).message})`)
  }
  try {
    await fh.writeFile(content)
    await fh.chmod(0o600)
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await rm(target, { force: true })
    throw new UsageError(`cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  await fh.close()
  if (target !== path) {
    try {
      await rename(target, path)
    } catch (err) {
      await rm(target, { force: true })
      throw new UsageError(`cannot replace ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
  }
}
