// A Target reached through `kubectl port-forward`: one forward serves every call of one
// command; if it drops (the pod restarted, the connection to the kubelet broke) it is
// started again, at most twice per target, so idempotent reads can be retried.
import { KubeError } from '../errors.js'
import type { Target } from '../pds/target.js'
import { describeForward, startPortForward, type PortForward, type PortForwardOptions } from './portForward.js'

const MAX_RESTARTS = 2
// kubectl exits a moment after it loses the pod; a failed request usually sees it first.
const EXIT_GRACE_MS = 500

export interface KubeTarget extends Target {
  readonly url: string
  /** kubectl's last error line once the current forward has exited (undefined while it runs). */
  failure(): string | undefined
  alive(): boolean
  recover(): Promise<boolean>
  whyDropped(): Promise<string | undefined>
  /** How many times the forward was started again. */
  readonly restarts: number
}

export async function createKubeTarget(opts: PortForwardOptions): Promise<KubeTarget> {
  let pf: PortForward = await startPortForward(opts)
  let restarts = 0
  let disposed = false
  let restartError: KubeError | undefined
  // Requests failing together share one restart: two would leave a kubectl behind.
  let recovering: Promise<boolean> | undefined
  const description = `${describeForward(opts)} (kubectl port-forward)`

  // Also when kubectl has exited: `exited` settles once its last stderr line is read.
  const waitForExit = async () => {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([pf.exited, new Promise((r) => (timer = setTimeout(r, EXIT_GRACE_MS)))])
    clearTimeout(timer)
  }

  const restart = async (): Promise<boolean> => {
    await waitForExit()
    if (disposed || pf.alive() || restarts >= MAX_RESTARTS) return false
    restarts++
    opts.onDebug?.(`port-forward dropped (${pf.failure() ?? 'kubectl exited'}); starting it again (${restarts}/${MAX_RESTARTS})`)
    try {
      const next = await startPortForward(opts)
      if (disposed) {
        await next.stop()
        return false
      }
      pf = next
      restartError = undefined
      return true
    } catch (err) {
      if (!(err instanceof KubeError)) throw err
      restartError = err
      opts.onDebug?.(err.line)
      return false
    }
  }

  return {
    get url() {
      return pf.url
    },
    description,
    get restarts() {
      return restarts
    },
    alive: () => pf.alive(),
    failure: () => pf.failure(),
    async whyDropped() {
      await waitForExit()
      const why = pf.failure()
      if (why && restartError) return `${why}; starting it again failed: ${restartError.message}`
      return why
    },
    recover() {
      if (disposed) return Promise.resolve(false)
      recovering ??= restart().finally(() => (recovering = undefined))
      return recovering
    },
    async dispose() {
      disposed = true
      await recovering?.catch(() => undefined)
      await pf.stop()
    },
  }
}

/**
 * The error for a request that failed because the forward dropped and may not be retried
 * (a write, or no restarts left); undefined while kubectl still runs.
 */
export function forwardFailureError(forward: { description: string; failure(): string | undefined }, cause?: unknown): KubeError | undefined {
  const why = forward.failure()
  if (!why) return undefined
  return new KubeError(`the port-forward to ${forward.description} dropped: ${why}`, {
    hint: 'Check the pod (`kubectl get pods`, `kubectl logs`) and try again',
    cause,
  })
}
