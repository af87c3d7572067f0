// The doctor's relay checks: one per relay, from getHostStatus (and the PDS's own repo
// count beside it), each with the fix for what the relay says.
import type { Check } from '../selfhost/doctor.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { hostAdvice, hostStatusReport } from './relays.js'

export async function relayChecks(relays: PdsClient[], hostname: string, pds?: PdsClient): Promise<Check[]> {
  if (!relays.length) return []
  const report = await hostStatusReport(pds, relays, hostname)
  const pdsCount = report.pds.activeAccounts
  return report.relays.map((r): Check => {
    const id = `relay ${new URL(r.relay).host}`
    const advice = hostAdvice(r, hostname)
    if (advice.length) {
      return {
        id,
        status: advice.some((a) => a.severity === 'fail') ? 'fail' : 'warn',
        message: advice.map((a) => a.problem).join('; '),
        fix: advice.map((a) => a.fix).join('; '),
      }
    }
    const counts = `${r.accountCount ?? '?'} accounts at the relay${pdsCount === null ? '' : `, ${pdsCount} active on the PDS`}`
    const seq = r.seq === null ? '' : `, relay seq ${r.seq}${r.seqBehind === null ? '' : ` (${r.seqBehind} behind the PDS's ${report.pds.seq})`}`
    return { id, status: 'pass', message: `${r.relay} follows ${hostname}: active, ${counts}${seq}` }
  })
}
