import * as Flags from '../../base/flags.js'
import { PdsCommand, kubeDeploymentFlag } from '../../base/base-command.js'
import { CheckFailedError } from '../../lib/errors.js'
import type { KubeStatus } from '../../lib/k8s/status.js'

interface Row {
  kind: string
  name: string
  status: string
  detail: string
}

export default class K8sStatus extends PdsCommand<typeof K8sStatus> {
  static override summary = 'The PDS in Kubernetes at a glance: Deployment, pods, PVC, Service, Warning events, health'
  static override description = `The first command to run when something is wrong. Reads the Deployment (image; replicas desired/ready/updated/available), its pods (phase, restarts, why the last container died: CrashLoopBackOff, OOMKilled, exit code), the PVCs it mounts (bound, capacity, storage class), the Service (type, ports) and the newest Warning events with one \`kubectl get -o json\`, then asks the PDS's /xrpc/_health through a port-forward (skipped, with a note, when no pod is Ready). Needs no admin password.
The Deployment is --kube-deployment, else the one named like the Service, else the one whose pods the Service selects.
Exits 6 when something is wrong (a pod not Running or crash-looping, a PVC not Bound, replicas missing, health failing).
The Deployment's image tag is shown with the PDS version it carries (the official image publishes the 0.5 line under 0.4.50NN tags: 0.4.5026 is PDS 0.5.26), and so is what the PDS reports.
JSON: {namespace, deployment, pods[], pvcs[], service, events[], health|null, healthSkipped, problems[]} (README).`
  static override examples = [
    '<%= config.bin %> k8s status --kube-namespace bluesky --kube-service bluesky',
    '<%= config.bin %> k8s status --context home --json | jq .problems',
  ]
  static override flags = {
    'kube-deployment': kubeDeploymentFlag,
    events: Flags.integer({ description: 'How many Warning events to show, newest first.', default: 10, min: 0 }),
    'no-health': Flags.boolean({ description: 'Do not port-forward to ask the PDS for its health.' }),
  }

  async run(): Promise<KubeStatus> {
    const settings = await this.settings()
    const workload = await this.kubeWorkload('k8s status', this.flags['kube-deployment'])
    const { kubeStatus } = await import('../../lib/k8s/status.js')
    this.out.status(`Reading the PDS's objects${workload.namespace ? ` in namespace ${workload.namespace}` : ''}…`)
    const report = await kubeStatus({
      ...workload,
      events: this.flags.events,
      noHealth: this.flags['no-health'],
      timeoutMs: settings.timeoutMs,
      forwardTimeoutS: settings.kube?.timeoutS ?? 20,
    })
    if (this.out.json) await this.out.printJson(report)
    else await this.out.printTable(rows(report), [
      { header: 'KIND', value: (r: Row) => r.kind },
      { header: 'NAME', value: (r: Row) => r.name },
      { header: 'STATUS', value: (r: Row) => r.status },
      { header: 'DETAIL', value: (r: Row) => r.detail },
    ])
    if (report.healthSkipped && !this.out.json) this.out.status(`Health not checked: ${report.healthSkipped}.`)
    if (report.problems.length) throw new CheckFailedError(`${report.problems.length === 1 ? 'a problem' : `${report.problems.length} problems`}: ${report.problems.join('; ')}`)
    return report
  }
}

function rows(r: KubeStatus): Row[] {
  const out: Row[] = []
  const d = r.deployment
  if (d) {
    const rep = d.replicas
    out.push({ kind: 'deployment', name: d.name, status: `${rep.available}/${rep.desired} available`, detail: `image ${d.image ?? '?'} (${tagWords(d.tag, d.pdsVersion)}); ready ${rep.ready}, updated ${rep.updated}; revision ${d.revision ?? '?'}` })
  } else out.push({ kind: 'deployment', name: '-', status: 'missing', detail: `none found in namespace ${r.namespace}` })
  for (const p of r.pods) {
    const last = p.lastTermination ? `; last exit ${p.lastTermination.reason ?? '?'} (code ${p.lastTermination.exitCode ?? '?'}${p.lastTermination.finishedAt ? ` at ${p.lastTermination.finishedAt}` : ''})` : ''
    out.push({ kind: 'pod', name: p.name, status: p.reason && p.state !== 'running' ? p.reason : `${p.phase}${p.ready ? '' : ', not ready'}`, detail: `${p.restarts} restarts${last}; image ${p.image ?? '?'}` })
  }
  for (const v of r.pvcs) out.push({ kind: 'pvc', name: v.name, status: v.phase, detail: `${v.capacity ?? `requested ${v.requested ?? '?'}`}; class ${v.storageClass ?? 'default'}${v.volume ? `; volume ${v.volume}` : ''}` })
  if (r.service) out.push({ kind: 'service', name: r.service.name, status: r.service.type, detail: r.service.ports.map((p) => `${p.port}→${p.targetPort ?? p.port}/${p.protocol}`).join(', ') })
  for (const e of r.events) out.push({ kind: 'event', name: e.object, status: e.reason, detail: `${e.count > 1 ? `(x${e.count}) ` : ''}${e.message}${e.lastSeen ? ` [${e.lastSeen}]` : ''}` })
  if (r.health) out.push({ kind: 'health', name: r.health.via, status: r.health.ok ? 'ok' : 'failing', detail: r.health.ok ? `version ${r.health.version ?? 'not reported'}${r.health.pdsVersion && r.health.pdsVersion !== r.health.version ? ` (PDS ${r.health.pdsVersion})` : ''}; ${r.health.rttMs} ms` : (r.health.error ?? '') })
  else out.push({ kind: 'health', name: '-', status: 'skipped', detail: r.healthSkipped ?? '' })
  return out
}

/** "tag 0.4.5026 = PDS 0.5.26", "tag 0.4 floats", "no tag". */
function tagWords(tag: string | null, pdsVersion: string | null): string {
  if (!tag) return 'no tag'
  if (pdsVersion) return pdsVersion === tag ? `PDS ${pdsVersion}` : `tag ${tag} = PDS ${pdsVersion}`
  return `tag ${tag}: PDS version not in the tag`
}
