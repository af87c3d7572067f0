// Reading the admin password (or another value) from a Kubernetes Secret with kubectl.
// The value is decoded here and never appears in argv, logs or error messages.
import { execFile } from 'node:child_process'
import { KubeError, UsageError } from '../errors.js'
import { lastErrorLine } from './portForward.js'

export interface SecretRef {
  name: string
  key: string
}

const DNS1123 = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/

export function parseSecretRef(value: string, defaultKey = 'adminPassword'): SecretRef {
  const [name, key, extra] = value.split(':')
  if (extra !== undefined || !name || !DNS1123.test(name) || (key !== undefined && !/^[-._a-zA-Z0-9]+$/.test(key))) {
    throw new UsageError(`"${value}" is not a Secret NAME or NAME:KEY`, { hint: 'e.g. --kube-secret pds-secrets:adminPassword' })
  }
  return { name, key: key ?? defaultKey }
}

export interface ReadSecretOptions {
  name: string
  key?: string
  namespace?: string
  context?: string
  kubectl?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

export function readKubeSecret(opts: ReadSecretOptions): Promise<string> {
  const key = opts.key ?? 'adminPassword'
  const { name } = parseSecretRef(`${opts.name}:${key}`)
  const kubectl = opts.kubectl ?? 'kubectl'
  // jsonpath needs dots inside a key escaped.
  const args = ['get', 'secret', name, '-o', `jsonpath={.data.${key.replace(/\./g, '\\.')}}`]
  if (opts.namespace) args.push('--namespace', opts.namespace)
  if (opts.context) args.push('--context', opts.context)
  const where = `Secret ${name}${opts.namespace ? ` in namespace ${opts.namespace}` : ''}`
  return new Promise((resolve, reject) => {
    execFile(kubectl, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean }
        if (e.code === 'ENOENT') return reject(new KubeError(`kubectl not found (${kubectl})`, { hint: 'Install kubectl, or pass --kubectl PATH (env PDSCTL_KUBECTL)' }))
        if (e.killed) return reject(new KubeError(`kubectl timed out reading ${where}`))
        const line = lastErrorLine(String(stderr)) ?? `kubectl exited ${e.code}`
        const hint = /not found/.test(line)
          ? `Check --kube-secret and --kube-namespace (\`kubectl get secrets${opts.namespace ? ` -n ${opts.namespace}` : ''}\`)`
          : /forbidden/i.test(line)
            ? 'Your Kubernetes user may not read Secrets here'
            : 'Check --kube-context and KUBECONFIG'
        return reject(new KubeError(`cannot read ${where}: ${line}`, { hint }))
      }
      const encoded = String(stdout).trim()
      if (!encoded) {
        return reject(
          new KubeError(`${where} has no key "${key}"`, {
            hint: `Name the key as --kube-secret ${name}:KEY; list the keys with \`kubectl get secret ${name}${opts.namespace ? ` -n ${opts.namespace}` : ''} -o jsonpath='{.data}'\``,
          }),
        )
      }
      const value = Buffer.from(encoded, 'base64').toString('utf8').replace(/\r?\n$/, '')
      if (!value) return reject(new KubeError(`key "${key}" of ${where} is empty`))
      resolve(value)
    })
  })
}
