// `kubectl port-forward`, run for the length of one command. The only place in pdsctl
// (with secret.ts) that starts processes. kubectl binds 127.0.0.1 on a port the OS picks
// (`:PORT`), and the "Forwarding from" line is printed only once the tunnel to the pod is
// up. Nothing secret is ever in kubectl's argv. No kubectl outlives pdsctl: every child is
// stopped by stop(), by stopAllPortForwards() (signal handlers) and, as a last resort,
// SIGKILLed from a process 'exit' hook.
import { spawn, type ChildProcess } from 'node:child_process'
import { KubeError, UsageError } from '../errors.js'

export interface PortForwardOptions {
  namespace?: string
  service?: string
  pod?: string
  /** The PDS port on the Service (or Pod). */
  port?: number
  context?: string
  /** Path to kubectl (default 'kubectl' on PATH). */
  kubectl?: string
  /** Environment for kubectl (PATH, HOME, KUBECONFIG, …); defaults to this process's. */
  env?: NodeJS.ProcessEnv
  /** How long to wait for the "Forwarding from" line (default 30 s). */
  readyTimeoutMs?: number
  /** kubectl's --pod-running-timeout (e.g. '20s'); kubectl's own default is 60s. */
  podRunningTimeout?: string
  onDebug?: (line: string) => void
}

export interface PortForward {
  url: string
  localPort: number
  /** What is being forwarded, for messages: "svc/bluesky in namespace bluesky". */
  description: string
  alive(): boolean
  /** kubectl's last error line once it has exited (undefined while it runs). */
  failure(): string | undefined
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
  stop(): Promise<void>
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
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
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
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

export function startPortForward(opts: PortForwardOptions): Promise<PortForward> {
  if (!!opts.service === !!opts.pod) throw new UsageError('name exactly one of --kube-service or --kube-pod')
  const port = opts.port ?? 3000
  const args = ['port-forward', '--address', '127.0.0.1']
  if (opts.context) args.push('--context', opts.context)
  if (opts.namespace) args.push('--namespace', opts.namespace)
  if (opts.podRunningTimeout) args.push(`--pod-running-timeout=${opts.podRunningTimeout}`)
  args.push(opts.pod ? `pod/${opts.pod}` : `svc/${opts.service}`, `:${port}`)
  const kubectl = opts.kubectl ?? 'kubectl'
  const description = describeForward(opts)
  opts.onDebug?.(`$ ${kubectl} ${args.join(' ')}`)

  const started = performance.now()
  const child = spawn(kubectl, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let stdout = ''
  let stderr = ''
  let spawnError: NodeJS.ErrnoException | undefined
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err
      resolve({ code: null, signal: null, stderr })
    })
    child.once('exit', (code, signal) => {
      // Let the last stderr bytes arrive before reporting.
      setImmediate(() => resolve({ code, signal, stderr }))
    })
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    for (const line of d.split('\n').filter(Boolean)) opts.onDebug?.(`kubectl: ${line}`)
  })
  const failure = () => (child.exitCode !== null || child.signalCode !== null || spawnError ? lastErrorLine(stderr) : undefined)

  return new Promise<PortForward>((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => {
      if (done) return
      done = true
      void stopChild(child)
      reject(
        new KubeError(`kubectl port-forward to ${description} did not start within ${Math.round((opts.readyTimeoutMs ?? 30_000) / 1000)} s${lastErrorLine(stderr) ? ` (${lastErrorLine(stderr)})` : ''}`, {
          hint: `Check the pod with \`kubectl get pods${opts.namespace ? ` -n ${opts.namespace}` : ''}\``,
        }),
      )
    }, opts.readyTimeoutMs ?? 30_000)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> \d+$/m.exec(stdout)
      if (m && !done) {
        done = true
        clearTimeout(timer)
        const localPort = Number(m[1])
        opts.onDebug?.(`kubectl forwarding 127.0.0.1:${localPort} → ${description} after ${Math.round(performance.now() - started)} ms`)
        resolve({
          url: `http://127.0.0.1:${localPort}`,
          localPort,
          description,
          alive: () => child.exitCode === null && child.signalCode === null && !spawnError,
          failure,
          exited,
          stop: () => stopChild(child),
        })
      }
      // Keep only the tail: kubectl prints "Handling connection" for every connection.
      if (stdout.length > 4096) stdout = stdout.slice(-1024)
    })
    void exited.then(({ code, signal }) => {
      if (done) return
      done = true
      clearTimeout(timer)
      reject(kubectlFailure({ kubectl, description, namespace: opts.namespace, code, signal, stderr, spawnError }))
    })
  })
}

/** kubectl's last `error: …` / `Error from server …` line, without the prefix noise. */
export function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean)
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^(error: |Error from server|Unable to|The connection to the server)/.test(lines[i])) return lines[i]
  }
  return lines.at(-1)
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
  if (f.spawnError?.code === 'ENOENT') {
    return new KubeError(`kubectl not found (${f.kubectl})`, { hint: 'Install kubectl, or pass --kubectl PATH (env PDSCTL_KUBECTL)' })
  }
  if (f.spawnError) return new KubeError(`cannot run ${f.kubectl} (${f.spawnError.code ?? f.spawnError.message})`)
  const line = lastErrorLine(f.stderr) ?? `kubectl exited ${f.code ?? f.signal}`
  const ns = f.namespace ? ` -n ${f.namespace}` : ''
  let hint = 'Check your kubeconfig context (--kube-context, KUBECONFIG)'
  if (/pod is not running|Current status=/.test(line)) hint = `The pod is not running yet; check \`kubectl get pods${ns}\``
  else if (/timed out waiting for the condition|watch closed before/.test(line)) hint = `No running pod matches the Service; check \`kubectl get pods${ns}\` and --pod-running-timeout`
  else if (/namespaces ".*" not found/.test(line)) hint = 'Check --kube-namespace'
  else if (/services ".*" not found/.test(line)) hint = `Check --kube-service (\`kubectl get svc${ns}\`)`
  else if (/pods ".*" not found/.test(line)) hint = `Check --kube-pod (\`kubectl get pods${ns}\`)`
  else if (/forbidden|Forbidden|Unauthorized/.test(line)) hint = 'Your Kubernetes user may not port-forward here; ask for pods/portforward permission or use another --kube-context'
  else if (/does not have a service port/.test(line)) hint = 'Check --kube-port (the Service port, 3000 for the official image)'
  else if (/connection to the server .* was refused|Unable to connect/.test(line)) hint = 'Is the cluster reachable? Check --kube-context and KUBECONFIG'
  return new KubeError(`kubectl port-forward to ${f.description} failed: ${line}`, { hint })
}
