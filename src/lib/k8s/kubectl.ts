// One-shot kubectl runs (get -o json, set image, rollout status/undo) for `k8s status` and
// `k8s upgrade`: every run has a deadline, is registered so nothing outlives pdsctl (the
// same registry as the port-forward), and fails as one KubeError line quoting kubectl.
// Nothing secret ever goes into these argvs.
import { spawn } from 'node:child_process'
import { KubeError } from '../errors.js'
import { kubectlSpawnError, lastErrorLine, trackKubectl } from './portForward.js'
import { envWithoutSecrets, snippet } from '../redaction.js'

export interface KubectlAccess {
  /** Path to kubectl (default 'kubectl' on PATH). */
  kubectl?: string
  context?: string
  /** Default: the kubeconfig context's namespace. */
  namespace?: string
  env?: NodeJS.ProcessEnv
  onDebug?: (line: string) => void
}

export interface KubectlRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

// `get -o json` of a namespace is small; a cap keeps a runaway answer from filling memory.
const MAX_OUTPUT = 64 * 1024 * 1024

/** kubectl's argv: the verb's args, then namespace and context. */
export function kubectlArgs(args: string[], access: KubectlAccess, requestTimeoutS?: number): string[] {
  const out = [...args]
  if (access.namespace) out.push('--namespace', access.namespace)
  if (access.context) out.push('--context', access.context)
  if (requestTimeoutS) out.push(`--request-timeout=${requestTimeoutS}s`)
  return out
}

/**
 * Run kubectl to completion or until `timeoutMs` (then SIGINT, SIGKILL 2 s later). Resolves
 * with whatever happened; rejects only when kubectl cannot be started at all.
 */
export function execKubectl(args: string[], access: KubectlAccess, timeoutMs: number, onStdout?: (chunk: string) => void): Promise<KubectlRun> {
  const kubectl = access.kubectl ?? 'kubectl'
  access.onDebug?.(`$ ${kubectl} ${args.join(' ')}`)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, args, { env: envWithoutSecrets(access.env ?? process.env), stdio: ['ignore', 'pipe', 'pipe'] })
    trackKubectl(child)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    let killTimer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGINT')
      killTimer = setTimeout(() => child.kill('SIGKILL'), 2000)
    }, timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d
      onStdout?.(d)
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d
    })
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return
      clearTimeout(timer)
      reject(kubectlSpawnError(kubectl, err))
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      access.onDebug?.(`kubectl ${args[0]} ${args[1] ?? ''} ended ${code ?? signal} after ${Math.round(performance.now() - started)} ms`)
      for (const line of stderr.split('\n').filter(Boolean)) access.onDebug?.(`kubectl: ${line}`)
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
}

/** What kubectl said went wrong, in one line. */
export function kubectlWords(run: KubectlRun, timeoutMs: number): string {
  if (run.timedOut) return `kubectl did not finish within ${timeoutMs % 1000 === 0 ? timeoutMs / 1000 : (timeoutMs / 1000).toFixed(1)} s${lastErrorLine(run.stderr) ? ` (${lastErrorLine(run.stderr)})` : ''}`
  return lastErrorLine(run.stderr) ?? `kubectl exited ${run.code ?? run.signal} without a message`
}

/** A hint for kubectl's usual complaints. */
export function kubectlHint(line: string, access: KubectlAccess): string {
  const ns = access.namespace ? ` -n ${access.namespace}` : ''
  if (/namespaces ".*" not found/.test(line)) return 'Check --kube-namespace (`kubectl get namespaces`)'
  if (/deployments(\.apps)? ".*" not found/.test(line)) return `Check --kube-deployment (\`kubectl get deployments${ns}\`)`
  if (/forbidden|Forbidden|Unauthorized/.test(line)) return 'Your Kubernetes user lacks the permission named above; ask for it or use another --kube-context'
  if (/connection to the server .* was refused|Unable to connect|did not finish within/.test(line)) return 'Is the cluster reachable? Check --kube-context and KUBECONFIG'
  if (/doesn't have a resource type/.test(line)) return 'The cluster does not serve that API; check the kubeconfig context'
  return 'Check --kube-context and KUBECONFIG'
}

/** Run kubectl and return its stdout; a failure is a KubeError "<what>: <kubectl's words>. <hint>". */
export async function kubectlOk(what: string, args: string[], access: KubectlAccess, timeoutMs = 30_000): Promise<string> {
  // kubectl's own --request-timeout fires first, with its words; the kill is the backstop.
  const killAfterMs = timeoutMs + 2000
  const run = await execKubectl(kubectlArgs(args, access, Math.ceil(timeoutMs / 1000)), access, killAfterMs)
  if (run.code === 0 && !run.timedOut) return run.stdout
  const line = kubectlWords(run, killAfterMs)
  throw new KubeError(`${what} failed: ${line}`, { hint: kubectlHint(line, access) })
}

/** `kubectl get … -o json`, parsed. */
export async function kubectlGetJson(what: string, resources: string[], access: KubectlAccess, timeoutMs = 30_000): Promise<unknown> {
  const out = await kubectlOk(what, ['get', ...resources, '-o', 'json'], access, timeoutMs)
  try {
    return JSON.parse(out)
  } catch {
    throw new KubeError(`${what}: kubectl's output is not JSON (${snippet(out, 80)})`)
  }
}
