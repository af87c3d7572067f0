// Settings come in one direction and are resolved here, once: flags, then the
// environment, then the env file, then the saved context, then defaults. Nothing deeper
// in pdsctl reads process.env.
import { UsageError } from '../errors.js'
import { envOrFileValue, nonEmpty, readEnvFile, type EnvMap } from './envFile.js'
import { parsePdsUrl } from '../pds/urls.js'

/** Where a kube target finds the PDS (flags --kube-*). */
export interface KubeSettings {
  namespace?: string
  service?: string
  pod?: string
  port: number
  context?: string
  kubectl: string
  /** Seconds to wait for the forward (and for a pod to be Running). */
  timeoutS?: number
  /**
   * --kube: find what is not named in the cluster (the Service, the Deployment, the Secret
   * the Deployment reads the admin password from): src/lib/k8s/discover.ts.
   */
  find?: boolean
  /** The PDS Deployment, when found. */
  deployment?: string
}

/** What a saved context holds (see `pdsctl context add`). No secret unless the user asked. */
export interface SavedContext {
  url?: string
  envFile?: string
  allowInsecureHttp?: boolean
  kube?: Partial<KubeSettings>
  /** Where the admin password comes from for this context. */
  adminPassword?:
    | { from: 'env-file' }
    | { from: 'kube-secret'; secret: string; key?: string }
    | { from: 'prompt' }
    | { from: 'stored'; value: string }
}

export interface ConnectionFlags {
  url?: string
  'env-file'?: string
  'allow-insecure-http'?: boolean
  'admin-password-stdin'?: boolean
  timeout?: number
  'max-response-mb'?: number
  'kube-namespace'?: string
  'kube-service'?: string
  'kube-pod'?: string
  'kube-port'?: number
  'kube-context'?: string
  'kube-secret'?: string
  'kube-timeout'?: number
  kube?: boolean
  kubectl?: string
}

export type AdminPasswordSource =
  | { kind: 'stdin' }
  | { kind: 'kube-secret'; name: string; key?: string }
  | { kind: 'value'; value: string; origin: string }
  | { kind: 'prompt' }

export interface ConnectionSettings {
  /** Direct URL of the PDS, when not reached through Kubernetes. */
  url?: string
  /** Where `url` came from, for messages ("--url", "PDS_URL", …). */
  urlSource?: string
  kube?: KubeSettings
  adminPassword: AdminPasswordSource
  /** Set when the password would come from a saved context but the target is not that context's PDS. */
  adminPasswordRefusal?: UsageError
  timeoutMs: number
  /** Largest answer accepted, in bytes. */
  maxResponseBytes: number
  allowInsecureHttp: boolean
  /** The env file's values, when one was read (PDS_CRAWLERS, PDS_HOSTNAME, …). */
  envFile?: { path: string; values: EnvMap }
  /** The PDS's public hostname when known (PDS_HOSTNAME), for request-crawl and doctor. */
  hostname?: string
  /** Where hostname came from: PDS_HOSTNAME (environment or env file), or only the PDS URL's host (a guess: a port-forward's is 127.0.0.1). */
  hostnameFrom?: 'PDS_HOSTNAME' | 'url'
  /** Relays from PDS_CRAWLERS. */
  crawlers: string[]
  /** [backup] PDS_RATE_LIMIT_BYPASS_KEY (environment, then env file): sent as x-ratelimit-bypass to the PDS only. */
  rateLimitBypassKey?: string
  /**
   * [identity] PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX (environment, then env file): the PDS's
   * PLC rotation key, a secret. Used only to sign PLC operations and to know its public did:key;
   * never printed, logged or sent anywhere.
   */
  plcRotationKey?: { value: string; origin: string }
  /** [identity] PDS_RECOVERY_DID_KEY (environment, then env file): a rotation key the operator knows. */
  recoveryDidKey?: string
  /** [identity] PDS_DID_PLC_URL (environment, then env file): the PLC directory the PDS uses. */
  plcUrl?: { value: string; origin: string }
}

const DEFAULT_TIMEOUT_S = 30
const DEFAULT_MAX_RESPONSE_MB = 32

export async function resolveConnection(
  flags: ConnectionFlags,
  env: Record<string, string | undefined>,
  context?: SavedContext,
): Promise<ConnectionSettings> {
  const allowInsecureHttp = flags['allow-insecure-http'] ?? context?.allowInsecureHttp ?? false
  const envFilePath = flags['env-file'] ?? env.PDS_ENV_FILE ?? context?.envFile
  const envFile = envFilePath ? { path: envFilePath, values: await readEnvFile(envFilePath) } : undefined
  const fileVal = (k: string) => nonEmpty(envFile?.values[k])

  // The kube target: flags beat the context; only when a namespace/service/pod is named.
  const kubeFlags = flags.kube || flags['kube-service'] || flags['kube-pod'] || flags['kube-namespace']
  let kube: KubeSettings | undefined
  if (kubeFlags || (!flags.url && context?.kube && (context.kube.service || context.kube.pod))) {
    const k = kubeFlags ? {} : (context?.kube ?? {})
    kube = {
      namespace: flags['kube-namespace'] ?? k.namespace,
      service: flags['kube-service'] ?? (flags['kube-pod'] ? undefined : k.service),
      pod: flags['kube-pod'] ?? (flags['kube-service'] ? undefined : k.pod),
      port: flags['kube-port'] ?? k.port ?? 3000,
      context: flags['kube-context'] ?? k.context,
      kubectl: flags.kubectl ?? k.kubectl ?? env.PDSCTL_KUBECTL ?? 'kubectl',
      timeoutS: flags['kube-timeout'] ?? k.timeoutS,
      ...(flags.kube ? { find: true } : {}),
    }
    if (kube.service && kube.pod) throw new UsageError('--kube-service and --kube-pod cannot be used together')
    if (!kube.service && !kube.pod && !kube.find) {
      throw new UsageError('--kube-namespace needs --kube-service NAME or --kube-pod NAME', {
        hint: 'Name the Service (or Pod) that runs the PDS, or pass --kube to find it',
      })
    }
    for (const [what, v] of [['--kube-namespace', kube.namespace], ['--kube-service', kube.service], ['--kube-pod', kube.pod]] as const) {
      if (v !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(v)) {
        throw new UsageError(`${what} "${v}" is not a valid Kubernetes name`)
      }
    }
    if (!Number.isInteger(kube.port) || kube.port < 1 || kube.port > 65535) throw new UsageError(`--kube-port must be 1-65535`)
    if (flags.url) throw new UsageError('--url and --kube-* flags cannot be used together', { hint: 'Pick one way to reach the PDS' })
  }

  let url: string | undefined
  let urlSource: string | undefined
  if (!kube) {
    const candidates: Array<[string, string | undefined, (v: string) => string]> = [
      ['--url', flags.url, (v) => v],
      ['PDS_URL', nonEmpty(env.PDS_URL), (v) => v],
      ['PDS_HOST', nonEmpty(env.PDS_HOST), (v) => v],
      ['PDS_HOSTNAME', nonEmpty(env.PDS_HOSTNAME), (v) => `https://${v}`],
      [`PDS_URL in ${envFilePath}`, fileVal('PDS_URL'), (v) => v],
      [`PDS_HOSTNAME in ${envFilePath}`, fileVal('PDS_HOSTNAME'), (v) => `https://${v}`],
      ['the saved context', context?.url, (v) => v],
    ]
    for (const [source, value, toUrl] of candidates) {
      if (value) {
        url = parsePdsUrl(toUrl(value), { allowHttp: allowInsecureHttp, what: `PDS URL (from ${source})` })
        urlSource = source
        break
      }
    }
  }

  // The admin password: explicit flags first, then the environment, env file, context.
  let adminPassword: AdminPasswordSource = { kind: 'prompt' }
  if (flags['admin-password-stdin'] && flags['kube-secret']) {
    throw new UsageError('--admin-password-stdin and --kube-secret cannot be used together')
  }
  const ctxPw = context?.adminPassword
  if (flags['admin-password-stdin']) adminPassword = { kind: 'stdin' }
  else if (flags['kube-secret']) adminPassword = { kind: 'kube-secret', ...parseSecretFlag(flags['kube-secret']) }
  else if (nonEmpty(env.PDS_ADMIN_PASSWORD)) adminPassword = { kind: 'value', value: env.PDS_ADMIN_PASSWORD!, origin: 'PDS_ADMIN_PASSWORD' }
  else if (fileVal('PDS_ADMIN_PASSWORD')) adminPassword = { kind: 'value', value: fileVal('PDS_ADMIN_PASSWORD')!, origin: envFilePath! }
  else if (ctxPw?.from === 'kube-secret') adminPassword = { kind: 'kube-secret', name: ctxPw.secret, key: ctxPw.key }
  else if (ctxPw?.from === 'stored') adminPassword = { kind: 'value', value: ctxPw.value, origin: 'the saved context' }

  const namedHostname = nonEmpty(env.PDS_HOSTNAME) ?? fileVal('PDS_HOSTNAME')
  const hostname = namedHostname ?? (url ? new URL(url).hostname : undefined)
  const hostnameFrom = namedHostname ? ('PDS_HOSTNAME' as const) : hostname ? ('url' as const) : undefined
  const crawlerList = nonEmpty(env.PDS_CRAWLERS) ?? fileVal('PDS_CRAWLERS')
  const crawlers = crawlerList ? crawlerList.split(',').map((s) => s.trim()).filter(Boolean) : []

  // A password stored in (or named by) a context is for that context's PDS only: never
  // send it to a URL or cluster given some other way.
  // Checked when the password is about to be used (commands that need none are not refused).
  let adminPasswordRefusal: UsageError | undefined
  if (context && (ctxPw?.from === 'stored' || ctxPw?.from === 'kube-secret') && adminPasswordFromContext(adminPassword, ctxPw)) {
    const mismatch = targetOutsideContext(context, url, urlSource, kube)
    if (mismatch) {
      adminPasswordRefusal = new UsageError(`the admin password of the saved context is for ${mismatch.context}, not ${mismatch.target}`, {
        hint: 'Give the password another way for this PDS (PDS_ADMIN_PASSWORD, --env-file, --admin-password-stdin, --kube-secret), or use the context without --url/--kube-*',
      })
    }
  }

  const timeoutS = flags.timeout ?? DEFAULT_TIMEOUT_S
  if (!(timeoutS > 0)) throw new UsageError('--timeout must be a positive number of seconds')
  const maxMb = flags['max-response-mb'] ?? DEFAULT_MAX_RESPONSE_MB
  if (!(maxMb > 0)) throw new UsageError('--max-response-mb must be a positive number of MiB')

  const rateLimitBypassKey = nonEmpty(env.PDS_RATE_LIMIT_BYPASS_KEY) ?? fileVal('PDS_RATE_LIMIT_BYPASS_KEY') // [backup]
  // [identity] the PDS's PLC settings, as the PDS reads them
  const fromEnvOrFile = (k: string) => envOrFileValue(k, env, envFile)
  const plcRotationKey = fromEnvOrFile('PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX')
  const recoveryDidKey = fromEnvOrFile('PDS_RECOVERY_DID_KEY')?.value
  const plcUrl = fromEnvOrFile('PDS_DID_PLC_URL')

  return {
    url,
    urlSource,
    kube,
    adminPassword,
    adminPasswordRefusal,
    timeoutMs: timeoutS * 1000,
    maxResponseBytes: maxMb * 1024 * 1024,
    allowInsecureHttp,
    envFile,
    hostname,
    hostnameFrom,
    crawlers,
    rateLimitBypassKey, // [backup]
    plcRotationKey, // [identity]
    recoveryDidKey, // [identity]
    plcUrl, // [identity]
  }
}

function adminPasswordFromContext(src: AdminPasswordSource, ctxPw: NonNullable<SavedContext['adminPassword']>): boolean {
  if (ctxPw.from === 'stored') return src.kind === 'value' && src.origin === 'the saved context'
  if (ctxPw.from === 'kube-secret') return src.kind === 'kube-secret' && src.name === ctxPw.secret && src.key === ctxPw.key
  return false
}

/** Where the command will go, when that is not where the context points; undefined when it is. */
function targetOutsideContext(
  context: SavedContext,
  url: string | undefined,
  urlSource: string | undefined,
  kube: KubeSettings | undefined,
): { context: string; target: string } | undefined {
  const ctxTarget = context.url
    ? context.url
    : context.kube
      ? `${context.kube.pod ? `pod/${context.kube.pod}` : `svc/${context.kube.service}`} in namespace ${context.kube.namespace ?? 'default'}`
      : 'no PDS'
  if (url !== undefined) {
    if (urlSource === 'the saved context') return undefined
    if (context.url && sameOrigin(context.url, url)) return undefined
    return { context: ctxTarget, target: `${url} (from ${urlSource})` }
  }
  if (kube) {
    const k = context.kube
    const same =
      k !== undefined &&
      (k.namespace ?? undefined) === kube.namespace &&
      (k.service ?? undefined) === kube.service &&
      (k.pod ?? undefined) === kube.pod &&
      (k.context ?? undefined) === kube.context
    if (same) return undefined
    return { context: ctxTarget, target: `${kube.pod ? `pod/${kube.pod}` : `svc/${kube.service}`} in namespace ${kube.namespace ?? 'default'}${kube.context ? ` (kube context ${kube.context})` : ''}` }
  }
  return undefined
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}

function parseSecretFlag(value: string): { name: string; key?: string } {
  const [name, key, extra] = value.split(':')
  if (extra !== undefined || !name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || (key !== undefined && !/^[-._a-zA-Z0-9]+$/.test(key))) {
    throw new UsageError(`--kube-secret "${value}" is not NAME or NAME:KEY`, { hint: 'e.g. --kube-secret pds-secrets:adminPassword' })
  }
  return { name, key }
}

