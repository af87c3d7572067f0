// `kubectl port-forward`, run for the length of one command. kubectl binds 127.0.0.1 on a
// port the OS picks (`:PORT`), and prints "Forwarding from" only once the tunnel to the
// pod is up, so that line is the readiness signal. Nothing secret is ever in kubectl's
// argv. No kubectl outlives pdsctl: every child is stopped by stop(), by
// stopAllPortForwards() (signal handlers) and, as a last resort, SIGKILLed from a process
// 'exit' hook. Facts about kubectl: /work/shared/notes/kubectl-port-forward.md.
import { spawn, type ChildProcess } from 'node:child_process'
import { KubeError, UsageError } from '../errors.js'
import { envWithoutSecrets } from '../redaction.js'

export interface PortForwardOptions {
  namespace?: string
  /** The Service to forward to; name exactly one of service and pod. */
  service?: string
  pod?: string
  /** The PDS port on the Service (or Pod); default 3000. */
  port?: number
  context?: string
  /** Path to kubectl (default 'kubectl' on PATH). */
  kubectl?: string
  /** Environment for kubectl (PATH, HOME, KUBECONFIG, KUBECACHEDIR, NO_PROXY, …); default this process's. */
  env?: NodeJS.ProcessEnv
  /** How long to wait for the "Forwarding from" line (default 30 s). */
  readyTimeoutMs?: number
  /** kubectl's --pod-running-timeout (e.g. '20s'); kubectl's own default is 60s. */
  podRunningTimeout?: string
  onDebug?: (line: string) => void
}

export interface PortForwardExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** The tail of kubectl's stderr. */
  stderr: string
}

export interface PortForward {
  /** http://127.0.0.1:PORT */
  url: string
  localPort: number
  /** What is being forwarded, for messages: "svc/bluesky in namespace bluesky". */
  description: string
  alive(): boolean
  /** kubectl's last error line once it has exited (undefined while it runs). */
  failure(): string | undefined
  exited: Promise<PortForwardExit>
  /** SIGINT, then SIGKILL after 2 s; resolves once kubectl has exited. Safe to call twice. */
  stop(): Promise<void>
}

const DEFAULT_READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 2000
// kubectl logs an error line per failed connection; a long `kube forward` must not grow
// without bound, and only the last lines matter.
const STDERR_KEEP = 16 * 1024
const FORWARDING_LINE = /^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$/m

const live = new Set<ChildProcess>()
let exitHookInstalled = false

/**
 * Register a kubectl child so that stopAllPortForwards() and the process 'exit' hook stop
 * it. Used for every kubectl pdsctl starts (secret.ts too).
 */
export function trackKubectl(child: ChildProcess): void {
  if (child.pid === undefined) return // never started (ENOENT): nothing to stop
  live.add(child)
  child.once('exit', () => live.delete(child))
  child.once('error', () => {
    if (child.exitCode !== null || child.signalCode !== null) live.delete(child)
  })
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // 'exit' handlers must be synchronous: SIGKILL is the only thing that surely works here.
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL')
    })
  }
}

/** Stop every kubectl this process started (for signal handlers). */
export async function stopAllPortForwards(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)))
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGINT') // kubectl exits 0 on SIGINT
  })
}

export function describeForward(opts: Pick<PortForwardOptions, 'namespace' | 'service' | 'pod'>): string {
  const what = opts.pod ? `pod/${opts.pod}` : `svc/${opts.service}`
  return `${what}${opts.namespace ? ` in namespace ${opts.namespace}` : ''}`
}

/** kubectl's argv for the forward (exported for tests and --debug). */
export function portForwardArgs(opts: PortForwardOptions): string[] {
  const args = ['port-forward', '--address', '127.0.0.1']
  if (opts.context) args.push('--context', opts.context)
  if (opts.namespace) args.push('--namespace', opts.namespace)
  if (opts.podRunningTimeout) args.push(`--pod-running-timeout=${opts.podRunningTimeout}`)
  args.push(opts.pod ? `pod/${opts.pod}` : `svc/${opts.service}`, `:${opts.port ?? 3000}`)
  return args
}

/**
 * Start kubectl port-forward and resolve once it forwards. Rejects with a KubeError whose
 * one line quotes kubectl's own error and says what to check; kubectl has exited by then.
 */
export async function startPortForward(opts: PortForwardOptions): Promise<PortForward> {
  if (!!opts.service === !!opts.pod) return Promise.reject(new UsageError('name exactly one of --kube-service or --kube-pod'))
  const port = opts.port ?? 3000
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new UsageError(`--kube-port must be a port number (1-65535), not ${port}`))
  const args = portForwardArgs(opts)
  const kubectl = opts.kubectl ?? 'kubectl'
  const description = describeForward(opts)
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  opts.onDebug?.(`$ ${kubectl} ${args.join(' ')}`)

  const started = performance.now()
  const child = spawn(kubectl, args, { env: envWithoutSecrets(opts.env ?? process.env), stdio: ['ignore', 'pipe', 'pipe'] })
  trackKubectl(child)
  let stdout = ''
  let stderr = ''
  let spawnError: NodeJS.ErrnoException | undefined
  const exited = new Promise<PortForwardExit>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      // Only a failure to start counts; kill() errors on a live child do not end it.
      if (child.pid !== undefined) return
      spawnError = err
      resolve({ code: null, signal: null, stderr })
    })
    // 'close' comes after stdio has drained, so kubectl's last stderr line is in.
    child.once('close', (code, signal) => resolve({ code, signal, stderr }))
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    if (stderr.length > STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP / 2)
    for (const line of d.split('\n').filter(Boolean)) opts.onDebug?.(`kubectl: ${line}`)
  })
  const hasExited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined
  const failure = () => (hasExited() ? (lastErrorLine(stderr) ?? `kubectl exited ${child.exitCode ?? child.signalCode}`) : undefined)

  return new Promise<PortForward>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      const last = lastErrorLine(stderr)
      // Reject only once kubectl is gone, so a caller never sees it outlive the error.
      void stopChild(child).then(() =>
        reject(
          new KubeError(`kubectl port-forward to ${description} did not start within ${formatSeconds(readyTimeoutMs)}${last ? ` (${last})` : ''}`, {
            hint: `Check the pod with \`kubectl get pods${opts.namespace ? ` -n ${opts.namespace}` : ''}\` and the cluster with \`kubectl cluster-info\``,
          }),
        ),
      )
    }, readyTimeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      // Keep reading after ready: kubectl prints a line per connection and would block on a full pipe.
      if (settled) return
      stdout += d
      const m = FORWARDING_LINE.exec(stdout)
      if (!m) return
      settled = true
      clearTimeout(timer)
      const localPort = Number(m[1])
      opts.onDebug?.(`kubectl forwarding 127.0.0.1:${localPort} → ${description} after ${Math.round(performance.now() - started)} ms`)
      resolve({
        url: `http://127.0.0.1:${localPort}`,
        localPort,
        description,
        alive: () => !hasExited(),
        failure,
        exited,
        stop: () => stopChild(child),
      })
    })
    void exited.then(({ code, signal }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(kubectlFailure({ kubectl, description, namespace: opts.namespace, code, signal, stderr, spawnError }))
    })
  })
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

/** kubectl's last `error: …` / `Error from server …` line (else its last line), trimmed. */
export function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean)
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^(error: |Error from server|Unable to|The connection to the server)/.test(lines[i])) return lines[i]
  }
  return lines.at(-1)
}

/** The KubeError for kubectl not starting at all (ENOENT, EACCES). */
export function kubectlSpawnError(kubectl: string, err: NodeJS.ErrnoException): KubeError {
  const hint = 'Install kubectl, or pass --kubectl PATH (env PDSCTL_KUBECTL)'
  if (err.code === 'ENOENT') {
    // A bare name was looked up on PATH; a path was taken as given.
    return new KubeError(kubectl.includes('/') ? `kubectl not found (${kubectl})` : `${kubectl} not found on PATH`, { hint })
  }
  return new KubeError(`cannot run ${kubectl} (${err.code ?? err.message})`, { hint })
}

export function kubectlFailure(f: {
  kubectl: string
  description: string
  namespace?: string
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
  spawnError?: NodeJS.ErrnoException
}): KubeError {
  if (f.spawnError) return kubectlSpawnError(f.kubectl, f.spawnError)
  const line = lastErrorLine(f.stderr) ?? `kubectl exited ${f.code ?? f.signal} without a message`
  const ns = f.namespace ? ` -n ${f.namespace}` : ''
  let hint = 'Check your kubeconfig context (--kube-context, KUBECONFIG)'
  if (/pod is not running|Current status=/.test(line)) hint = `The pod is not running yet; check \`kubectl get pods${ns}\``
  else if (/timed out waiting for the condition|watch closed before/.test(line)) hint = `No running pod matches the Service; check \`kubectl get pods${ns}\` and --kube-timeout`
  else if (/namespaces ".*" not found/.test(line)) hint = 'Check --kube-namespace (`kubectl get namespaces`)'
  else if (/services ".*" not found/.test(line)) hint = `Check --kube-service (\`kubectl get svc${ns}\`)`
  else if (/pods ".*" not found/.test(line)) hint = `Check --kube-pod (\`kubectl get pods${ns}\`)`
  else if (/forbidden|Forbidden|Unauthorized/.test(line)) hint = 'Your Kubernetes user may not port-forward here; ask for pods/portforward permission or use another --kube-context'
  else if (/does not have a service port/.test(line)) hint = 'Check --kube-port (the Service port, 3000 for the official image)'
  else if (/lost connection to pod/.test(line)) hint = `The pod may have restarted; check \`kubectl get pods${ns}\``
  else if (/connection to the server .* was refused|Unable to connect/.test(line)) hint = 'Is the cluster reachable? Check --kube-context and KUBECONFIG'
  return new KubeError(`kubectl port-forward to ${f.description} failed: ${line}`, { hint })
}
