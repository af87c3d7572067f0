import * as Flags from '../../base/flags.js'
import { PdsCommand, kubeDeploymentFlag } from '../../base/base-command.js'
import { PdsctlError, UsageError } from '../../lib/errors.js'
import type { DesyncFixReport } from '../../lib/selfhost/sequencerFix.js'
import type { KubeDesyncPlan } from '../../lib/k8s/desyncSteps.js'

export type FixDesyncResult = (DesyncFixReport & { next: string[] }) | KubeDesyncPlan

export default class RelayFixDesync extends PdsCommand<typeof RelayFixDesync> {
  static override summary = "Raise the PDS's event sequence above a relay's cursor (the PDS README's desync fix)"
  static override description = `When a relay's seq for this host is past the PDS's latest seq (\`relay status\` says so, with both numbers), the PDS's sequence went back (a recreated or restored database) and the relay ignores its new events. The fix of the PDS README ("Fixing a Relay desync") raises the counter of the PDS's sequencer.sqlite (sqlite_sequence, repo_seq) to N + 1, where N (--to-seq) is the relay's seq.
On the PDS's host (docker compose, systemd): --data-dir DIR is the PDS's data directory (/pds). pdsctl refuses while the PDS runs (the database is locked, or the PDS answers /xrpc/_health at --url / PDS_HOSTNAME), checks DIR and the file like a vault (no links followed, regular files owned by you, not writable by others), copies sequencer.sqlite aside first (a new 0600 file beside it, never over an earlier copy), raises the counter in a transaction and reads it back; nothing changes when the sequence is already above N. Then: start the PDS, make one event (a post, or \`doctor\`), \`request-crawl\`, \`relay status\`.
On Kubernetes (--kube-*): prints the steps for your Deployment and PVC (names read with kubectl get): scale to 0, a one-off pod of the PDS's own image with the PVC mounted running the fix, scale back. It runs none of them.
SQLite comes from node:sqlite, built into Node (on Node 22 it prints an ExperimentalWarning).
JSON (host): {dataDir, database, toSeq, before, after, nextSeq, changed, backup, next}. JSON (Kubernetes): {namespace, deployment, replicas, image, claim, mountPath, dataDir, toSeq, steps: [{what, command}]}.`
  static override examples = [
    '<%= config.bin %> relay status --env-file /pds/pds.env                 # names the relay\'s seq when it is past the PDS\'s',
    'docker compose -f /pds/compose.yaml stop pds && sudo <%= config.bin %> relay fix-desync --data-dir /pds --to-seq 4242 --env-file /pds/pds.env --yes',
    '<%= config.bin %> relay fix-desync --to-seq 4242 --kube-namespace bluesky --kube-service bluesky',
  ]
  static override flags = {
    'to-seq': Flags.integer({ description: "The relay's seq for this host (relay status: RELAY SEQ): the PDS's events will be numbered above it.", required: true, min: 0, max: Number.MAX_SAFE_INTEGER - 2 }),
    'data-dir': Flags.string({ description: "The PDS's data directory, holding sequencer.sqlite (/pds in the official install); in the pod with --kube-* (default: PDS_DATA_DIRECTORY, else the volume's mount path)." }),
    hostname: Flags.string({ description: 'The PDS hostname, for the steps printed with --kube-* (default PDS_HOSTNAME).' }),
    yes: Flags.boolean({ description: 'Change the database without asking.' }),
    'kube-deployment': kubeDeploymentFlag,
  }

  async run(): Promise<FixDesyncResult> {
    const settings = await this.settings()
    const toSeq = this.flags['to-seq']
    if (settings.kube) return this.kubeSteps(toSeq)
    const dataDir = this.flags['data-dir']
    if (!dataDir) throw new UsageError('--data-dir is required (the PDS\'s data directory, e.g. /pds)', { hint: 'On Kubernetes, give the --kube-* flags instead: pdsctl prints the steps' })
    // The paths first (cheap, and a question about a wrong path would be a waste).
    const { checkDataDir, checkSequencerDb, fixSequencer, nextSteps } = await import('../../lib/selfhost/sequencerFix.js')
    const uid = process.getuid?.() ?? 0
    await checkSequencerDb(await checkDataDir(dataDir, uid), uid)
    await this.refuseWhileServing()
    await this.confirmOrYes(`Raise the event sequence in ${dataDir}/sequencer.sqlite above ${toSeq} (a copy is made first)?`, this.flags.yes)
    const report = await fixSequencer(dataDir, toSeq)
    const next = nextSteps(toSeq, this.config.bin)
    const result = { ...report, next }
    if (this.out.json) await this.out.printJson(result)
    else {
      await this.out.printFields([
        ['database', report.database],
        ['changed', report.changed],
        ['backup', report.backup],
        ['sequence before', report.before],
        ['sequence now', report.after],
        ['next event', report.nextSeq],
      ])
      this.out.status(
        report.changed
          ? `Raised the sequence from ${report.before} to ${report.after}: the PDS's next event will be ${report.nextSeq}, above the relay's ${toSeq}. The database as it was is in ${report.backup}.`
          : `The sequence is already at ${report.before}, above ${toSeq}: nothing changed.`,
      )
      this.out.status(`Next: ${next.map((s, i) => `${i + 1}. ${s}`).join('; ')}.`)
    }
    return result
  }

  /** The PDS answering its health endpoint means it is running: refuse before touching anything. */
  private async refuseWhileServing(): Promise<void> {
    const settings = await this.settings()
    if (!settings.url) {
      this.debugLog('no PDS URL (--url, PDS_URL, PDS_HOSTNAME): only the database lock tells whether the PDS runs')
      return
    }
    const client = await this.client()
    let serving: string | null = null
    try {
      const res = await client.send({ method: 'GET', path: '/xrpc/_health', name: '_health' })
      const { judgeHealthAnswer } = await import('../../lib/pds/health.js')
      const judged = judgeHealthAnswer(res)
      if (!judged.problem) serving = judged.version ?? 'no version reported'
    } catch (err) {
      if (!(err instanceof PdsctlError) || err.exitCode === 130 || err.exitCode === 143) throw err
      this.debugLog(`the PDS does not answer at ${client.url}: ${err.message}`)
    }
    if (serving !== null) {
      throw new PdsctlError(`the PDS is running: it answers /xrpc/_health at ${client.url} (${serving})`, {
        hint: 'Stop it first (docker compose stop pds, or systemctl stop pds), then run this again',
      })
    }
  }

  private async kubeSteps(toSeq: number): Promise<KubeDesyncPlan> {
    const settings = await this.settings()
    const w = await this.kubeWorkload('relay fix-desync', this.flags['kube-deployment'])
    const { kubeDesyncPlan } = await import('../../lib/k8s/desyncSteps.js')
    const secret = settings.adminPassword.kind === 'kube-secret' ? settings.adminPassword.name : undefined
    const plan = await kubeDesyncPlan(w, toSeq, { dataDir: this.flags['data-dir'], bin: this.config.bin, hostname: this.flags.hostname ?? settings.hostname, kubeSecret: secret })
    if (this.out.json) await this.out.printJson(plan)
    else {
      const lines = plan.steps.flatMap((s, i) => [`# ${i + 1}. ${s.what}`, s.command])
      await this.out.write(lines.join('\n') + '\n')
      this.out.status(`pdsctl ran none of these: stopping the PDS is yours to do. Deployment ${plan.deployment} (${plan.replicas} replica${plan.replicas === 1 ? '' : 's'}), image ${plan.image}, claim ${plan.claim} at ${plan.mountPath}, data directory ${plan.dataDir}.`)
    }
    return plan
  }
}
