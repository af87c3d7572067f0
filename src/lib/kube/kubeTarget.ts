// A Target reached through `kubectl port-forward`: one forward serves every call of one
// command; if it drops (the pod restarted, the connection to the kubelet broke) it is
// started again, at most twice, so idempotent reads can be retried.
import { KubeError } from '../errors.js'
import type { Target } from '../target.js'
import { startPortForward, type PortForward, type PortForwardOptions } from './portForward.js'

const MAX_RESTARTS = 2

export async function createKubeTarget(opts: PortForwardOptions): Promise<Target & { failure(): string | undefined }> {
  let pf: PortForward = await startPortForward(opts)
  let restarts = 0
  let disposed = false
  return {
    get url() {
      return pf.url
    },
    get description() {
      return `${pf.description} (kubectl port-forward)`
    },
    alive: () => pf.alive(),
    failure: () => pf.failure(),
    async whyDropped() {
      if (pf.alive()) await Promise.race([pf.exited, new Promise((r) => setTimeout(r, 500))])
      return pf.failure()
    },
    async recover() {
      if (disposed) return false
      // kubectl exits shortly after it loses the pod; give it a moment to say so.
      if (pf.alive()) await Promise.race([pf.exited, new Promise((r) => setTimeout(r, 500))])
      if (pf.alive() || restarts >= MAX_RESTARTS) return false
      restarts++
      opts.onDebug?.(`port-forward dropped (${pf.failure() ?? 'kubectl exited'}); starting it again (${restarts}/${MAX_RESTARTS})`)
      try {
        pf = await startPortForward(opts)
        return true
      } catch (err) {
        if (err instanceof KubeError) opts.onDebug?.(err.line)
        return false
      }
    },
    async dispose() {
      disposed = true
      await pf.stop()
    },
  }
}
