// Which kubectl processes are alive that a given test started: found through /proc by the
// KUBECACHEDIR in their environment (unique per fake cluster), so parallel tests do not
// see each other's.
import { readdirSync, readFileSync } from 'node:fs'

export function kubectlsUsing(cacheDir: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (!/kubectl/.test(cmd)) continue
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      if (env.includes(`KUBECACHEDIR=${cacheDir}`)) pids.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return pids
}

/** Wait until none is left (kubectl takes a moment to exit after SIGINT). */
export async function noKubectlLeft(cacheDir: string, timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = kubectlsUsing(cacheDir)
    if (left.length === 0 || Date.now() > deadline) return left
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The kubectl processes a test left behind (found by its fake's cache dir), killed so the run can go on. */
export async function reapKubectls(cacheDir: string): Promise<number[]> {
  const left = await noKubectlLeft(cacheDir)
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return left
}
