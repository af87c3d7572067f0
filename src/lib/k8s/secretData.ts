// Every key of a Kubernetes Secret (for `pdsctl config check --kube-secret`), with
// `kubectl get secret NAME -o jsonpath={.data}`. Values are decoded here and never appear
// in argv, debug lines or error messages.
import { spawn } from 'node:child_process'
import { KubeError, UsageError } from '../errors.js'
import { kubectlSpawnError, lastErrorLine, trackKubectl } from './portForward.js'
import { isSecretName, type ReadSecretOptions } from './secret.js'

export function readKubeSecretData(opts: Omit<ReadSecretOptions, 'key'>): Promise<Record<string, string>> {
  if (!isSecretName(opts.name)) return Promise.reject(new UsageError(`"${opts.name}" is not a valid Secret name`))
  const kubectl = opts.kubectl ?? 'kubectl'
  const args = ['get', 'secret', opts.name]
  if (opts.namespace) args.push('--namespace', opts.namespace)
  if (opts.context) args.push('--context', opts.context)
  args.push('-o', 'jsonpath={.data}')
  const where = `Secret ${opts.name}${opts.namespace ? ` in namespace ${opts.namespace}` : ''}`
  const timeoutMs = opts.timeoutMs ?? 30_000
  opts.onDebug?.(`$ ${kubectl} ${args.join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    trackKubectl(child)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        clearTimeout(timer)
        reject(kubectlSpawnError(kubectl, err))
      }
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (timedOut) return reject(new KubeError(`kubectl timed out after ${Math.round(timeoutMs / 1000)} s reading ${where}`, { hint: 'Is the cluster reachable? Check --kube-context and KUBECONFIG' }))
      if (code !== 0) {
        const line = lastErrorLine(stderr) ?? `kubectl exited ${code ?? signal} without a message`
        return reject(new KubeError(`cannot read ${where}: ${line}`, { hint: 'Check --kube-secret, --kube-namespace and --kube-context' }))
      }
      const text = stdout.trim()
      if (!text) return resolve({})
      let data: Record<string, unknown>
      try {
        data = JSON.parse(text) as Record<string, unknown>
      } catch {
        return reject(new KubeError(`kubectl printed something other than the Secret's data for ${where}`))
      }
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(data)) {
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return reject(new KubeError(`key "${k}" of ${where} is not base64 as Secret data should be`))
        out[k] = Buffer.from(v, 'base64').toString('utf8')
      }
      resolve(out)
    })
  })
}
