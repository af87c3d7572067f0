// Reading the admin password (or another value) from a Kubernetes Secret with
// `kubectl get secret NAME -o jsonpath={.data.KEY}`. The value is decoded here and never
// appears in argv, debug lines or error messages.
import { spawn } from 'node:child_process'
import { KubeError, UsageError } from '../errors.js'
import { kubectlSpawnError, lastErrorLine, trackKubectl } from './portForward.js'
import { envWithoutSecrets, registerSecret, registerUrlPassword } from '../redaction.js'

export interface SecretRef {
  name: string
  key: string
}

// A Secret's name is a DNS-1123 subdomain: dot-separated lowercase labels, 253 chars at most.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
// The keys a Secret's data may have (apimachinery IsConfigMapKey).
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/

export function isSecretName(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
}

export function isSecretKey(key: string): boolean {
  return key.length <= 253 && SECRET_KEY.test(key) && key !== '.' && key !== '..'
}

/** Parse `NAME[:KEY]` (as given to --kube-secret); KEY defaults to adminPassword. */
export function parseSecretRef(value: string, defaultKey = 'adminPassword'): SecretRef {
  const [name, key, extra] = value.split(':')
  if (extra !== undefined || !name || !isSecretName(name) || (key !== undefined && !isSecretKey(key))) {
    throw new UsageError(`"${value}" is not a Secret NAME or NAME:KEY (lowercase letters, digits, '-' and '.' in the name)`, {
      hint: 'e.g. --kube-secret pds-secrets:adminPassword',
    })
  }
  return { name, key: key ?? defaultKey }
}

export interface ReadSecretOptions {
  name: string
  /** The key in the Secret's data (default adminPassword). */
  key?: string
  namespace?: string
  context?: string
  /** Path to kubectl (default 'kubectl' on PATH). */
  kubectl?: string
  /** Environment for kubectl (PATH, HOME, KUBECONFIG, …); default this process's. */
  env?: NodeJS.ProcessEnv
  /** Give up after this long (default 30 s). */
  timeoutMs?: number
  onDebug?: (line: string) => void
}

/** kubectl's argv (exported for tests); the key is escaped for jsonpath, where '.' separates fields. */
export function readSecretArgs(opts: Pick<ReadSecretOptions, 'name' | 'key' | 'namespace' | 'context'>): string[] {
  const key = opts.key ?? 'adminPassword'
  const args = ['get', 'secret', opts.name]
  if (opts.namespace) args.push('--namespace', opts.namespace)
  if (opts.context) args.push('--context', opts.context)
  args.push('-o', `jsonpath={.data.${key.replace(/\./g, '\\.')}}`)
  return args
}

export function readKubeSecret(opts: ReadSecretOptions): Promise<string> {
  const key = opts.key ?? 'adminPassword'
  if (!isSecretName(opts.name)) return Promise.reject(new UsageError(`"${opts.name}" is not a valid Secret name`, { hint: 'Secret names are lowercase letters, digits, \'-\' and \'.\'' }))
  if (!isSecretKey(key)) return Promise.reject(new UsageError(`"${key}" is not a valid Secret key`, { hint: 'Secret keys are letters, digits, \'-\', \'_\' and \'.\'' }))
  const kubectl = opts.kubectl ?? 'kubectl'
  const args = readSecretArgs({ ...opts, key })
  const ns = opts.namespace ? ` -n ${opts.namespace}` : ''
  const where = `Secret ${opts.name}${opts.namespace ? ` in namespace ${opts.namespace}` : ''}`
  const timeoutMs = opts.timeoutMs ?? 30_000
  opts.onDebug?.(`$ ${kubectl} ${args.join(' ')}`)

  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, args, { env: envWithoutSecrets(opts.env ?? process.env), stdio: ['ignore', 'pipe', 'pipe'] })
    trackKubectl(child)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    let done = false
    const finish = (fn: () => void) => {
      if (done) return
      done = true
      clearTimeout(timer)
      fn()
    }
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish(() => reject(kubectlSpawnError(kubectl, err)))
    })
    child.once('close', (code, signal) =>
      finish(() => {
        if (timedOut) return reject(new KubeError(`kubectl timed out after ${Math.round(timeoutMs / 1000)} s reading ${where}`, { hint: 'Is the cluster reachable? Check --kube-context and KUBECONFIG' }))
        if (code !== 0) {
          const line = lastErrorLine(stderr) ?? `kubectl exited ${code ?? signal} without a message`
          opts.onDebug?.(`kubectl: ${line}`)
          return reject(new KubeError(`cannot read ${where}: ${line}`, { hint: secretHint(line, ns) }))
        }
        // A missing key prints nothing and exits 0 (--allow-missing-template-keys).
        const encoded = stdout.trim()
        if (!encoded) {
          return reject(
            new KubeError(`${where} has no key "${key}" (or its value is empty)`, {
              hint: `Name the key as --kube-secret ${opts.name}:KEY; list the keys with \`kubectl get secret ${opts.name}${ns} -o jsonpath='{.data}' | jq keys\` or \`kubectl describe secret ${opts.name}${ns}\``,
            }),
          )
        }
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return reject(new KubeError(`key "${key}" of ${where} is not base64 as Secret data should be`))
        // Secrets made from a file (`--from-file`) often end with a newline that is no part of a password.
        const value = Buffer.from(encoded, 'base64').toString('utf8').replace(/\r?\n$/, '')
        if (!value) return reject(new KubeError(`key "${key}" of ${where} is empty`))
        // A Secret's value is never shown, whatever it is (a password, a key, an SMTP URL).
        registerSecret(value)
        registerSecret(encoded)
        registerUrlPassword(value)
        resolve(value)
      }),
    )
  })
}

function secretHint(line: string, ns: string): string {
  if (/namespaces ".*" not found/.test(line)) return 'Check --kube-namespace (`kubectl get namespaces`)'
  if (/not found/.test(line)) return `Check --kube-secret and --kube-namespace (\`kubectl get secrets${ns}\`)`
  if (/forbidden|Forbidden|Unauthorized/.test(line)) return 'Your Kubernetes user may not read Secrets here; ask for get on secrets, or pass the password another way (--admin-password-stdin)'
  if (/connection to the server .* was refused|Unable to connect/.test(line)) return 'Is the cluster reachable? Check --kube-context and KUBECONFIG'
  return 'Check --kube-context and KUBECONFIG'
}
