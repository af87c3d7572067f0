// Every key of a Kubernetes Secret (for `pdsctl config check --kube-secret`), with
// `kubectl get secret NAME -o jsonpath={.data}` through the one-shot runner of kubectl.ts
// (a deadline, and nothing left running).
// Values are decoded here and never appear in argv, debug lines or error messages.
import { KubeError, UsageError } from '../errors.js'
import { execKubectl, kubectlArgs, kubectlWords } from './kubectl.js'
import { isSecretName, type ReadSecretOptions } from './secret.js'
import { registerSecret, registerUrlPassword } from '../redaction.js'

export async function readKubeSecretData(opts: Omit<ReadSecretOptions, 'key'>): Promise<Record<string, string>> {
  if (!isSecretName(opts.name)) throw new UsageError(`"${opts.name}" is not a valid Secret name`)
  const where = `Secret ${opts.name}${opts.namespace ? ` in namespace ${opts.namespace}` : ''}`
  const access = { kubectl: opts.kubectl, namespace: opts.namespace, context: opts.context, env: opts.env, onDebug: opts.onDebug }
  const timeoutMs = opts.timeoutMs ?? 30_000
  const run = await execKubectl(kubectlArgs(['get', 'secret', opts.name, '-o', 'jsonpath={.data}'], access), access, timeoutMs)
  if (run.code !== 0 || run.timedOut) {
    throw new KubeError(`cannot read ${where}: ${kubectlWords(run, timeoutMs)}`, { hint: 'Check --kube-secret, --kube-namespace and --kube-context' })
  }
  const text = run.stdout.trim()
  if (!text) return {}
  let data: Record<string, unknown>
  try {
    data = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new KubeError(`kubectl printed something other than the Secret's data for ${where}`)
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new KubeError(`key "${k}" of ${where} is not base64 as Secret data should be`)
    out[k] = Buffer.from(v, 'base64').toString('utf8')
    // The secret keys' values are never shown (the plain settings a Secret may also hold, a
    // hostname or a from-address, are left readable).
    if (/password|secret|private|token|salt|bypass|rotation/i.test(k) && !/public/i.test(k)) {
      registerSecret(out[k])
      registerSecret(v)
    }
    if (/smtp/i.test(k)) registerUrlPassword(out[k])
  }
  return out
}
