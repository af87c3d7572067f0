// `pdsctl config check`: a PDS's environment (the env file, or a Secret with the
// manifests' env) against the variables the PDS actually reads (pdsEnvVars.ts, generated
// from @atproto/pds's own reader for the lines 0.4 and 0.5). Each finding passes, warns or
// fails with the fix. Values of secret keys are never put in a message.
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from '../errors.js'
import type { Check } from './doctor.js'
import { PDS_ENV_SOURCES, PDS_ENV_VARS, type PdsLine } from './pdsEnvVars.js'
import { inspectSmtpUrl } from './smtp.js'

export type LineChoice = PdsLine | 'both'

/** One variable as the PDS would see it. `value` undefined: set, but its value could not be read (a Secret not given). */
export interface EnvEntry {
  value?: string
  /** Where it comes from, for messages ("pds.env", "Secret pds-secrets key jwtSecret", "deployment.yaml"). */
  from: string
}
export type EnvSet = Map<string, EnvEntry>

/** `pdsctl config check --json`. */
export interface ConfigReport {
  source: string
  line: LineChoice
  checks: Check[]
}

export interface ConfigCheckOptions {
  source: string
  line?: LineChoice
  /**
   * Only part of the environment is known (a Secret read without the manifests): the
   * required-variable and risky-choice checks then cover only the keys a Secret holds.
   */
  partial?: boolean
}

const SECRET_NAME = /SECRET|PASSWORD|PRIVATE_KEY|_TOKEN|BYPASS_KEY|SMTP_URL|_SALT|ROTATION_KEY$/

/** Never print the value of these keys. */
export function isSecretKey(name: string): boolean {
  return SECRET_NAME.test(name)
}

/** Levenshtein distance (small strings; for the did-you-mean). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]
}

function lines(choice: LineChoice): PdsLine[] {
  return choice === 'both' ? ['0.4', '0.5'] : [choice]
}

function nearest(name: string, candidates: string[]): { name: string; d: number } | null {
  let best: { name: string; d: number } | null = null
  for (const c of candidates) {
    const d = editDistance(name, c)
    if (!best || d < best.d) best = { name: c, d }
  }
  // A near miss: at most 3 edits, and fewer than a fifth of the name.
  return best && best.d <= Math.min(3, Math.floor(name.length / 5)) ? best : null
}

/** Read by pdsctl and pdsadmin, not by the PDS: at home in a client-side env file. */
const CLIENT_KEYS = new Set(['PDS_URL', 'PDS_HOST', 'PDS_ENV_FILE'])

const COLOUR = /^PDS_(DARK|LIGHT)_COLOR$|_(HUE|CONTRAST)$/

export function checkConfig(env: EnvSet, opts: ConfigCheckOptions): ConfigReport {
  const line = opts.line ?? 'both'
  const want = lines(line)
  const checks: Check[] = []
  const has = (k: string) => env.has(k)
  const val = (k: string) => env.get(k)?.value
  const set = (k: string) => {
    const e = env.get(k)
    return !!e && (e.value === undefined || e.value !== '')
  }
  const lineText = line === 'both' ? 'PDS 0.4 and 0.5' : `PDS ${line}`
  const known = Object.keys(PDS_ENV_VARS)

  // 1. Keys: unknown, misspelled, read by only one line.
  const pdsKeys = [...env.keys()].filter((k) => k.startsWith('PDS_') && !CLIENT_KEYS.has(k)).sort()
  let keyProblems = 0
  for (const k of pdsKeys) {
    const spec = PDS_ENV_VARS[k]
    const from = env.get(k)!.from
    if (!spec) {
      keyProblems++
      const near = nearest(k, known)
      checks.push(
        near
          ? { id: `key ${k}`, status: 'fail', message: `${k} (${from}) is not a variable the PDS reads: it is silently ignored; it looks like a misspelling of ${near.name}`, fix: `Did you mean ${near.name}? Rename it` }
          : { id: `key ${k}`, status: 'warn', message: `${k} (${from}) is not a variable ${lineText} reads: it is ignored`, fix: 'Remove it, or check the name against the PDS release notes' },
      )
      continue
    }
    const missingIn = want.filter((l) => !spec.lines.includes(l))
    if (missingIn.length) {
      keyProblems++
      const removed = spec.lines.includes('0.4') && missingIn.includes('0.5')
      checks.push({
        id: `key ${k}`,
        status: 'warn',
        message: removed
          ? `${k} was removed in PDS 0.5 (${COLOUR.test(k) ? 'the colour variables were dropped' : 'no longer read'}): 0.5 ignores it`
          : `${k} is read only by PDS ${spec.lines.join(', ')}; ${missingIn.join(', ')} ignores it`,
        fix: removed ? 'Remove it when you run 0.5' : `Fine on ${spec.lines.join(', ')}; it does nothing on ${missingIn.join(', ')}`,
      })
    }
  }
  if (!keyProblems) {
    const src = want.map((l) => `${PDS_ENV_SOURCES[l].version} (${PDS_ENV_SOURCES[l].count} variables)`).join(' and ')
    checks.push({ id: 'keys', status: 'pass', message: `all ${pdsKeys.length} PDS_* keys are read by @atproto/pds ${src}` })
  }

  // 2. Required: the PDS refuses to start without these, or runs as "localhost".
  const required: Array<[string, boolean, string, string]> = [
    ['PDS_HOSTNAME', set('PDS_HOSTNAME'), 'the PDS calls itself localhost: handles, DIDs and the public URL are wrong', 'Set PDS_HOSTNAME=pds.example.com'],
    ['PDS_JWT_SECRET', set('PDS_JWT_SECRET'), 'the PDS does not start ("Must provide a JWT secret")', 'Set PDS_JWT_SECRET (`pdsctl secrets generate`)'],
    ['PDS_ADMIN_PASSWORD', set('PDS_ADMIN_PASSWORD'), 'the PDS does not start ("Must provide an admin password")', 'Set PDS_ADMIN_PASSWORD (`pdsctl secrets generate`)'],
    [
      'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX',
      set('PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX') || set('PDS_PLC_ROTATION_KEY_KMS_KEY_ID'),
      'the PDS does not start ("Must configure plc rotation key")',
      'Set PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX (`pdsctl secrets generate`)',
    ],
    [
      'PDS_DATA_DIRECTORY',
      set('PDS_DATA_DIRECTORY') || ['PDS_ACCOUNT_DB_LOCATION', 'PDS_SEQUENCER_DB_LOCATION', 'PDS_DID_CACHE_DB_LOCATION', 'PDS_ACTOR_STORE_DIRECTORY'].every(set),
      'the databases go to the working directory of the process, not the volume: they are lost on restart',
      'Set PDS_DATA_DIRECTORY=/pds (the mounted volume)',
    ],
    [
      'PDS_BLOBSTORE_DISK_LOCATION',
      set('PDS_BLOBSTORE_DISK_LOCATION') || set('PDS_BLOBSTORE_S3_BUCKET'),
      'the PDS does not start ("Must configure either S3 or disk blobstore")',
      'Set PDS_BLOBSTORE_DISK_LOCATION=/pds/blocks (or PDS_BLOBSTORE_S3_BUCKET)',
    ],
  ]
  const secretHeld = new Set(['PDS_JWT_SECRET', 'PDS_ADMIN_PASSWORD', 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX'])
  for (const [k, ok, why, fix] of required) {
    if (opts.partial && !secretHeld.has(k)) continue
    checks.push(ok ? { id: `required ${k}`, status: 'pass', message: `${k} is set` } : { id: `required ${k}`, status: 'fail', message: `${k} is missing: ${why}`, fix })
  }
  if (set('PDS_BLOBSTORE_DISK_LOCATION') && set('PDS_BLOBSTORE_S3_BUCKET')) {
    checks.push({ id: 'blobstore', status: 'fail', message: 'both PDS_BLOBSTORE_DISK_LOCATION and PDS_BLOBSTORE_S3_BUCKET are set: the PDS does not start ("Cannot set both S3 and disk blobstore")', fix: 'Keep one' })
  }
  if (set('PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX') && set('PDS_PLC_ROTATION_KEY_KMS_KEY_ID')) {
    checks.push({ id: 'rotation-key', status: 'fail', message: 'both a K256 rotation key and a KMS key id are set: the PDS does not start', fix: 'Keep one' })
  }

  // 3. Values, by how the PDS parses them (types from its reader) and what they mean.
  for (const k of pdsKeys) {
    const spec = PDS_ENV_VARS[k]
    const v = val(k)
    if (!spec || v === undefined || v === '') continue
    const shown = isSecretKey(k) ? '' : ` ("${v.length > 80 ? v.slice(0, 77) + '…' : v}")`
    const bad = (message: string, fix: string, status: 'fail' | 'warn' = 'fail') => checks.push({ id: `value ${k}`, status, message: `${k}${shown} ${message}`, fix })
    if (spec.type === 'bool' && !['true', 'false', '1', '0'].includes(v)) {
      bad('is not true/false/1/0: the PDS reads it as unset and uses its default', 'Write true or false')
    } else if (spec.type === 'int' && !/^-?\d+$/.test(v)) {
      const parsed = Number.parseInt(v, 10)
      bad(
        Number.isNaN(parsed) ? 'is not an integer: the PDS reads it as unset' : `is not a plain integer: the PDS reads only its leading digits (${parsed})`,
        'Write a plain number (bytes, milliseconds or a count; no units)',
      )
    } else if (k === 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX' && !/^[0-9a-fA-F]{64}$/.test(v)) {
      bad(`is not 64 hex characters (a secp256k1 private key; this one has ${v.length} characters)`, 'Generate one with `pdsctl secrets generate` (or `openssl ecparam --name secp256k1 --genkey --noout --outform DER | tail -c +8 | head -c 32 | xxd -p -c 32`)')
    } else if (k === 'PDS_HOSTNAME' && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(v)) {
      bad('is not a bare hostname', 'Write the host only, e.g. pds.example.com (no https://, no path, no port)')
    } else if (/_SMTP_URL$/.test(k)) {
      for (const p of inspectSmtpUrl(v, k).problems) checks.push({ id: `value ${k}`, status: p.severity, message: p.message, fix: p.fix })
    } else if (/_URL$/.test(k) && spec.type === 'str') {
      if (!isHttpUrl(v)) bad('is not an http(s) URL', 'Write a full URL, e.g. https://example.com')
    } else if (k === 'PDS_CRAWLERS') {
      const badOnes = v.split(',').filter((u) => !isHttpUrl(u.trim()))
      if (badOnes.length) bad(`has ${badOnes.length} entr${badOnes.length === 1 ? 'y that is' : 'ies that are'} not an http(s) URL`, 'A comma-separated list of relay URLs, e.g. https://bsky.network')
    } else if (k === 'PDS_SERVICE_HANDLE_DOMAINS') {
      if (v.split(',').some((d) => !d.startsWith('.'))) bad('has a domain without its leading dot: the PDS does not start ("Invalid handle domain")', 'Write .pds.example.com')
    } else if (/_DID$/.test(k) && !/^did:[a-z]+:[a-zA-Z0-9._:%-]+$/.test(v)) {
      bad('is not a DID', 'e.g. did:web:api.bsky.app or did:plc:…')
    } else if (k === 'PDS_JWT_SECRET' && v.length < 16) {
      bad(`is short (${v.length} characters)`, 'Use 32 hex characters or more (`pdsctl secrets generate`)', 'warn')
    } else if (k === 'PDS_ADMIN_PASSWORD' && v.length < 12) {
      bad(`is short (${v.length} characters); it is the key to every admin call`, 'Use a long random one (`pdsctl secrets generate`)', 'warn')
    } else if (/_(EMAIL_ADDRESS|FROM_ADDRESS)$/.test(k) && !/^[^\s@]+@[^\s@]+$/.test(v.replace(/^.*<(.+)>\s*$/, '$1'))) {
      bad('is not an email address', 'e.g. noreply@pds.example.com or "PDS <noreply@pds.example.com>"')
    }
  }
  // The PDS refuses a half-configured mailer at start.
  for (const [urlKey, fromKey] of [['PDS_EMAIL_SMTP_URL', 'PDS_EMAIL_FROM_ADDRESS'], ['PDS_MODERATION_EMAIL_SMTP_URL', 'PDS_MODERATION_EMAIL_ADDRESS']]) {
    if (set(urlKey) !== set(fromKey) && !opts.partial) {
      const missing = set(urlKey) ? fromKey : urlKey
      checks.push({ id: `value ${missing}`, status: 'fail', message: `${set(urlKey) ? urlKey : fromKey} is set without ${missing}: the PDS does not start ("Partial … email config")`, fix: `Set ${missing} too, or neither` })
    }
  }

  // 4. Risky choices.
  if (!opts.partial) {
    const invitesOff = ['false', '0'].includes(val('PDS_INVITE_REQUIRED') ?? '')
    const captcha = set('PDS_HCAPTCHA_SITE_KEY') && set('PDS_HCAPTCHA_SECRET_KEY')
    const mail = set('PDS_EMAIL_SMTP_URL')
    if (invitesOff && !captcha) {
      checks.push({
        id: 'signups',
        status: 'warn',
        message: `PDS_INVITE_REQUIRED=${val('PDS_INVITE_REQUIRED')} with no hCaptcha${mail ? '' : ' and no mail server (no email confirmation is ever sent)'}: anyone, and any bot, can sign up — a spam magnet`,
        fix: 'Require invites (PDS_INVITE_REQUIRED=true, the default), or set PDS_HCAPTCHA_SITE_KEY/SECRET_KEY; `pdsctl account list --unconfirmed` finds the bots',
      })
    } else {
      checks.push({ id: 'signups', status: 'pass', message: invitesOff ? 'open sign-up behind hCaptcha' : 'sign-up needs an invite code' })
    }
    const rl = val('PDS_RATE_LIMITS_ENABLED')
    checks.push(
      rl === 'true' || rl === '1'
        ? { id: 'rate-limits', status: 'pass', message: 'rate limits are on' }
        : {
            id: 'rate-limits',
            status: 'warn',
            message: `rate limits are off (${has('PDS_RATE_LIMITS_ENABLED') ? `PDS_RATE_LIMITS_ENABLED=${rl}` : 'PDS_RATE_LIMITS_ENABLED unset, and off is the default'}): one client can flood sign-ups and writes`,
            fix: 'Set PDS_RATE_LIMITS_ENABLED=true (PDS_RATE_LIMIT_BYPASS_KEY lets your own tools through)',
          },
    )
    if (val('PDS_DEV_MODE') === 'true' || val('PDS_DEV_MODE') === '1') {
      checks.push({ id: 'dev-mode', status: 'warn', message: 'PDS_DEV_MODE is on: SSRF protection is off and dev behaviour applies', fix: 'Remove PDS_DEV_MODE in production' })
    }
    if (val('PDS_DISABLE_SSRF_PROTECTION') === 'true' || val('PDS_DISABLE_SSRF_PROTECTION') === '1') {
      checks.push({ id: 'ssrf', status: 'warn', message: 'PDS_DISABLE_SSRF_PROTECTION is on: the PDS will fetch private addresses on users\' behalf', fix: 'Remove it in production' })
    }
  }
  return { source: opts.source, line, checks }
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v)
    return (u.protocol === 'https:' || u.protocol === 'http:') && !!u.hostname
  } catch {
    return false
  }
}

/** An env file's values as an EnvSet (only PDS_* keys matter to the checks; the rest are kept). */
export function envSetFromMap(values: Record<string, string>, from: string): EnvSet {
  return new Map(Object.entries(values).map(([k, v]) => [k, { value: v, from }]))
}

// ---------------------------------------------------------------------------------------
// The manifests' env (a kustomize folder as `pdsctl k8s manifests` writes it)

export type ManifestEnv =
  | { name: string; value: string; file: string }
  | { name: string; secret: string; key: string; optional: boolean; file: string }
  | { fromSecret: string; prefix: string; file: string }

/** The env of the PDS container in every Deployment/StatefulSet under `dir`. */
export async function readManifestsEnv(dir: string): Promise<{ entries: ManifestEnv[]; notes: string[] }> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()
  } catch (err) {
    throw new UsageError(`cannot read --manifests ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { hint: 'Give the folder `pdsctl k8s manifests` wrote' })
  }
  const { parseAllDocuments } = await import('yaml')
  const entries: ManifestEnv[] = []
  const notes: string[] = []
  let workloads = 0
  for (const f of names) {
    const text = await readFile(path.join(dir, f), 'utf8')
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors?.length) throw new UsageError(`${f}: not valid YAML (${doc.errors[0].message.split('\n')[0]})`)
      const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<Record<string, unknown>> } } } } | null
      if (!o || (o.kind !== 'Deployment' && o.kind !== 'StatefulSet')) continue
      workloads++
      const containers = o.spec?.template?.spec?.containers ?? []
      const c = containers.find((x) => x.name === 'pds') ?? containers[0]
      if (!c) continue
      for (const e of (c.env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown } }>) ?? []) {
        if (e.valueFrom?.secretKeyRef) entries.push({ name: e.name, secret: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key, optional: !!e.valueFrom.secretKeyRef.optional, file: f })
        else if (e.valueFrom) notes.push(`${f}: ${e.name} comes from a ConfigMap or field ref, which is not read`)
        else entries.push({ name: e.name, value: String(e.value ?? ''), file: f })
      }
      for (const ef of (c.envFrom as Array<{ secretRef?: { name: string }; configMapRef?: { name: string }; prefix?: string }>) ?? []) {
        if (ef.secretRef) entries.push({ fromSecret: ef.secretRef.name, prefix: ef.prefix ?? '', file: f })
        else if (ef.configMapRef) notes.push(`${f}: envFrom ConfigMap ${ef.configMapRef.name} is not read`)
      }
    }
  }
  if (!workloads) throw new UsageError(`no Deployment or StatefulSet in ${dir}`, { hint: 'Give the folder `pdsctl k8s manifests` wrote' })
  return { entries, notes }
}

/**
 * The environment the pod gets: the manifests' env with each Secret reference resolved
 * from `secrets` (name → data). A reference to a Secret that was not read stays set with
 * an unknown value; a missing key of a read Secret is unset (and named in `notes`).
 */
export function resolveManifestEnv(entries: ManifestEnv[], secrets: Record<string, Record<string, string>>): { env: EnvSet; notes: string[] } {
  const env: EnvSet = new Map()
  const notes: string[] = []
  for (const e of entries) {
    if ('fromSecret' in e) {
      const data = secrets[e.fromSecret]
      if (!data) {
        notes.push(`${e.file}: envFrom Secret ${e.fromSecret} was not read (pass --kube-secret ${e.fromSecret})`)
        continue
      }
      for (const [k, v] of Object.entries(data)) env.set(e.prefix + k, { value: v, from: `Secret ${e.fromSecret} (envFrom)` })
    } else if ('secret' in e) {
      const data = secrets[e.secret]
      if (!data) env.set(e.name, { from: `Secret ${e.secret} key ${e.key} (not read)` })
      else if (data[e.key] === undefined) {
        if (!e.optional) notes.push(`${e.file}: ${e.name} refers to key ${e.key} that Secret ${e.secret} lacks: the pod will not start`)
      } else env.set(e.name, { value: data[e.key], from: `Secret ${e.secret} key ${e.key}` })
    } else {
      env.set(e.name, { value: e.value, from: e.file })
    }
  }
  return { env, notes }
}

/** A Secret read on its own: PDS_* keys as they are, the installer's keys (adminPassword…) mapped. */
export function envSetFromSecret(name: string, data: Record<string, string>, keyMap: Record<string, string>): EnvSet {
  const env: EnvSet = new Map()
  for (const [k, v] of Object.entries(data)) {
    const envName = k.startsWith('PDS_') ? k : keyMap[k]
    if (envName) env.set(envName, { value: v.replace(/\r?\n$/, ''), from: `Secret ${name} key ${k}` })
  }
  return env
}

/**
 * For the doctor: one line. The doctor judges the running PDS, and the env file it is given
 * is often the operator's client-side one (hostname and admin password only), so the
 * configuration's failures are a warning there, with the full report one command away.
 */
export function configChecksForDoctor(report: ConfigReport): Check[] {
  const fails = report.checks.filter((c) => c.status === 'fail').map((c) => c.id)
  const warns = report.checks.filter((c) => c.status === 'warn').map((c) => c.id)
  if (!fails.length && !warns.length) {
    return [{ id: 'config', status: 'pass', message: `the configuration in ${report.source} passes all ${report.checks.length} checks` }]
  }
  const list = (ids: string[]) => ids.slice(0, 6).join(', ') + (ids.length > 6 ? ', …' : '')
  const parts = [fails.length ? `${fails.length} failed (${list(fails)})` : '', warns.length ? `${warns.length} warned (${list(warns)})` : ''].filter(Boolean)
  return [
    {
      id: 'config',
      status: 'warn',
      message: `the configuration in ${report.source}: ${parts.join('; ')}`,
      fix: `See \`pdsctl config check ${report.source.startsWith('Secret ') ? `--kube-secret ${report.source.slice(7)}` : `--env-file ${report.source}`}\` for each finding and its fix`,
    },
  ]
}
