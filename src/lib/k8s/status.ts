// `pdsctl k8s status`: one `kubectl get deployments,pods,pvc,services,events -o json` read
// defensively into what an operator looks at first when the PDS misbehaves (image,
// replicas, pod phase, restarts and why the last container died, the PVC, the Service,
// recent Warning events), plus the PDS's own /xrpc/_health through a port-forward when a
// pod is Ready. `problems` lists what is wrong; the command exits 6 when it is not empty.
import { KubeError, PdsctlError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { imageTagInfo, pdsVersionOfReport } from './imageTags.js'
import { kubectlGetJson, type KubectlAccess } from './kubectl.js'
import type { PortForwardOptions } from './portForward.js'

export interface DeploymentInfo {
  name: string
  /** The PDS container's image (the first container's when none is recognisable). */
  image: string | null
  /** The image's tag (null: none, or a digest only). */
  tag: string | null
  /** The @atproto/pds version that tag carries (0.4.5026 → 0.5.26); null for a floating or unknown tag (imageTags.ts). */
  pdsVersion: string | null
  container: string | null
  replicas: { desired: number; ready: number; updated: number; available: number }
  /** deployment.kubernetes.io/revision */
  revision: string | null
  conditions: Array<{ type: string; status: string; reason: string | null; message: string | null }>
  /** Label selector (matchLabels) as `k=v,k2=v2`. */
  selector: string | null
}

export interface PodInfo {
  name: string
  phase: string
  ready: boolean
  restarts: number
  image: string | null
  /** running | waiting | terminated | unknown */
  state: string
  /** The waiting/terminated reason now (CrashLoopBackOff, ImagePullBackOff, …), null when running. */
  reason: string | null
  lastTermination: { reason: string | null; exitCode: number | null; finishedAt: string | null } | null
  node: string | null
  createdAt: string | null
}

export interface PvcInfo {
  name: string
  phase: string
  bound: boolean
  capacity: string | null
  requested: string | null
  storageClass: string | null
  volume: string | null
}

export interface ServiceInfo {
  name: string
  type: string
  clusterIP: string | null
  ports: Array<{ name: string | null; port: number; targetPort: string | number | null; protocol: string }>
  selector: string | null
}

export interface EventInfo {
  type: string
  reason: string
  object: string
  message: string
  count: number
  lastSeen: string | null
}

export interface HealthInfo {
  ok: boolean
  status: number | null
  /** What /xrpc/_health reported, as sent (the official image reports its tag: 0.4.5026). */
  version: string | null
  /** The @atproto/pds version that means (0.4.5026 → 0.5.26); null when none was reported. */
  pdsVersion: string | null
  rttMs: number | null
  error: string | null
  /** What the port-forward went to. */
  via: string
}

/** The documented `k8s status --json` shape. */
export interface KubeStatus {
  namespace: string
  deployment: DeploymentInfo | null
  pods: PodInfo[]
  pvcs: PvcInfo[]
  service: ServiceInfo | null
  events: EventInfo[]
  health: HealthInfo | null
  /** Why health is null (no pod Ready, --no-health). */
  healthSkipped: string | null
  /** What is wrong; empty when all is well. */
  problems: string[]
}

export interface ClusterTarget extends KubectlAccess {
  /** The Deployment's name; default the Service's, else found through the Service's selector. */
  deployment?: string
  service?: string
  pod?: string
}

type Obj = Record<string, any>
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null)
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : [])

export const BAD_WAITING_REASONS = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName', 'RunContainerError'])

/** A snapshot of the objects around the PDS. */
export interface ClusterSnapshot {
  namespace: string
  deployment: DeploymentInfo | null
  /** The raw Deployment (for the upgrade). */
  rawDeployment: Obj | null
  pods: PodInfo[]
  pvcs: PvcInfo[]
  service: ServiceInfo | null
  /** Warning events, newest first. */
  events: EventInfo[]
}

function matches(labels: Obj, selector: Obj): boolean {
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v)
}

/** The container that runs the PDS: the only one, or the one named pds, or the one whose image is the PDS's. */
export function pdsContainer(template: Obj): Obj | null {
  const cs = arr(obj(obj(template).spec).containers)
  if (cs.length <= 1) return cs[0] ?? null
  return cs.find((c) => c.name === 'pds') ?? cs.find((c) => /bluesky-social\/pds|\/pds[:@]/.test(String(c.image))) ?? cs[0]
}

export async function readCluster(t: ClusterTarget, timeoutMs = 30_000): Promise<ClusterSnapshot> {
  const list = obj(await kubectlGetJson('reading the PDS objects (kubectl get deployments,pods,pvc,services,events)', ['deployments,pods,persistentvolumeclaims,services,events'], t, timeoutMs))
  const items = arr(list.items)
  const of = (kind: string) => items.filter((i) => i.kind === kind)
  const svcName = t.service
  const rawService = svcName ? of('Service').find((s) => obj(s.metadata).name === svcName) : undefined
  const deployments = of('Deployment')
  const wanted = t.deployment ?? svcName
  let rawDeployment = wanted ? deployments.find((d) => obj(d.metadata).name === wanted) : undefined
  if (!rawDeployment && !t.deployment) {
    // No Deployment by the Service's name: the one whose pods the Service (or the pod) selects.
    const svcSel = obj(obj(rawService?.spec).selector)
    const pod = t.pod ? of('Pod').find((p) => obj(p.metadata).name === t.pod) : undefined
    const candidates = deployments.filter((d) => {
      const labels = obj(obj(obj(d.spec).template).metadata).labels ?? {}
      if (pod) return matches(obj(obj(pod.metadata).labels), obj(obj(d.spec).selector).matchLabels ?? {})
      return matches(labels, svcSel)
    })
    if (candidates.length === 1) rawDeployment = candidates[0]
  }
  const namespace = str(obj(rawDeployment?.metadata).namespace) ?? str(obj(rawService?.metadata).namespace) ?? t.namespace ?? 'default'

  let deployment: DeploymentInfo | null = null
  let podSelector: Obj = obj(obj(rawService?.spec).selector)
  let claimNames: string[] = []
  if (rawDeployment) {
    const spec = obj(rawDeployment.spec)
    const st = obj(rawDeployment.status)
    const c = pdsContainer(obj(spec.template))
    const tag = str(c?.image) ? imageTagInfo(String(c?.image)) : null
    podSelector = obj(obj(spec.selector).matchLabels)
    claimNames = arr(obj(obj(spec.template).spec).volumes).map((v) => str(obj(v.persistentVolumeClaim).claimName)).filter((n): n is string => !!n)
    deployment = {
      name: String(obj(rawDeployment.metadata).name),
      image: str(c?.image),
      tag: tag?.tag || null,
      pdsVersion: tag?.pdsVersion ?? null,
      container: str(c?.name),
      replicas: { desired: typeof spec.replicas === 'number' ? spec.replicas : 1, ready: num(st.readyReplicas), updated: num(st.updatedReplicas), available: num(st.availableReplicas) },
      revision: str(obj(obj(rawDeployment.metadata).annotations)['deployment.kubernetes.io/revision']),
      conditions: arr(st.conditions).map((x) => ({ type: String(x.type), status: String(x.status), reason: str(x.reason), message: str(x.message) })),
      selector: Object.keys(podSelector).length ? Object.entries(podSelector).map(([k, v]) => `${k}=${v}`).join(',') : null,
    }
  }
  const pods = of('Pod')
    .filter((p) => (t.pod && !rawDeployment ? obj(p.metadata).name === t.pod : matches(obj(obj(p.metadata).labels), podSelector)))
    .map(podInfo)
  const pvcs = of('PersistentVolumeClaim')
    .filter((p) => claimNames.length === 0 || claimNames.includes(obj(p.metadata).name))
    .map((p): PvcInfo => {
      const st = obj(p.status)
      const spec = obj(p.spec)
      return {
        name: String(obj(p.metadata).name),
        phase: str(st.phase) ?? 'Unknown',
        bound: st.phase === 'Bound',
        capacity: str(obj(st.capacity).storage),
        requested: str(obj(obj(spec.resources).requests).storage),
        storageClass: str(spec.storageClassName),
        volume: str(spec.volumeName),
      }
    })
  const service: ServiceInfo | null = rawService
    ? {
        name: String(obj(rawService.metadata).name),
        type: str(obj(rawService.spec).type) ?? 'ClusterIP',
        clusterIP: str(obj(rawService.spec).clusterIP),
        ports: arr(obj(rawService.spec).ports).map((x) => ({ name: str(x.name), port: num(x.port), targetPort: typeof x.targetPort === 'number' || typeof x.targetPort === 'string' ? x.targetPort : null, protocol: str(x.protocol) ?? 'TCP' })),
        selector: Object.keys(obj(obj(rawService.spec).selector)).length ? Object.entries(obj(obj(rawService.spec).selector)).map(([k, v]) => `${k}=${v}`).join(',') : null,
      }
    : null
  // core/v1 Events (what `kubectl get events` lists), read so that events.k8s.io/v1 fields
  // (regarding, note, deprecated*) work too.
  const when = (e: Obj) =>
    str(e.lastTimestamp) ?? str(e.deprecatedLastTimestamp) ?? str(obj(e.series).lastObservedTime) ?? str(e.eventTime) ?? str(obj(e.metadata).creationTimestamp)
  const about = (e: Obj) => obj(e.involvedObject ?? e.regarding)
  // Only the PDS's own objects: a shared namespace has other people's warnings. Pods that
  // are gone (replaced crash-loopers) still carry the Deployment's name as their prefix.
  const ours = new Set<string>([...pods.map((p) => p.name), ...pvcs.map((v) => v.name), ...(service ? [service.name] : [])])
  const related = (e: Obj) => {
    const name = String(about(e).name ?? '')
    return !deployment || ours.has(name) || name === deployment.name || name.startsWith(`${deployment.name}-`)
  }
  const events = of('Event')
    .filter((e) => e.type === 'Warning' && related(e))
    .map((e): EventInfo => ({ type: 'Warning', reason: String(e.reason ?? ''), object: `${about(e).kind ?? '?'}/${about(e).name ?? '?'}`, message: String(e.message ?? e.note ?? '').trim(), count: num(e.count) || num(e.deprecatedCount) || num(obj(e.series).count) || 1, lastSeen: when(e) }))
    .sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? ''))
  return { namespace, deployment, rawDeployment: rawDeployment ?? null, pods, pvcs, service, events }
}

function podInfo(p: Obj): PodInfo {
  const st = obj(p.status)
  const statuses = arr(st.containerStatuses)
  const spec = obj(p.spec)
  const main = statuses.find((c) => c.name === pdsContainer(p)?.name) ?? statuses[0]
  const state = obj(main?.state)
  const last = obj(obj(main?.lastState).terminated)
  const kind = state.running ? 'running' : state.waiting ? 'waiting' : state.terminated ? 'terminated' : 'unknown'
  const reason = str(obj(state.waiting).reason) ?? str(obj(state.terminated).reason) ?? (st.phase !== 'Running' ? str(st.reason) : null)
  const readyCond = arr(st.conditions).find((c) => c.type === 'Ready')
  return {
    name: String(obj(p.metadata).name),
    phase: str(st.phase) ?? 'Unknown',
    ready: readyCond ? readyCond.status === 'True' : statuses.length > 0 && statuses.every((c) => c.ready === true),
    restarts: statuses.reduce((n, c) => n + num(c.restartCount), 0),
    // The spec's image is what was set; the status may show it normalised (docker.io/library/…).
    image: str(pdsContainer(p)?.image) ?? str(main?.image),
    state: kind,
    reason,
    lastTermination: Object.keys(last).length ? { reason: str(last.reason), exitCode: typeof last.exitCode === 'number' ? last.exitCode : null, finishedAt: str(last.finishedAt) } : null,
    node: str(spec.nodeName),
    createdAt: str(obj(p.metadata).creationTimestamp),
  }
}

/** What is wrong in a snapshot (health aside). */
export function findProblems(s: ClusterSnapshot, t: ClusterTarget): string[] {
  const problems: string[] = []
  const d = s.deployment
  const wanted = t.deployment ?? t.service
  if (!d) problems.push(`no Deployment${wanted ? ` ${wanted}` : ''} in namespace ${s.namespace}`)
  else if (d.replicas.available < d.replicas.desired) problems.push(`Deployment ${d.name}: ${d.replicas.available} of ${d.replicas.desired} replicas available`)
  if (t.service && !s.service) problems.push(`no Service ${t.service} in namespace ${s.namespace}`)
  if (s.pods.length === 0) problems.push('no pod runs the PDS')
  for (const p of s.pods) {
    if (p.reason && BAD_WAITING_REASONS.has(p.reason)) {
      const last = p.lastTermination ? `; last exit: ${p.lastTermination.reason ?? '?'}, code ${p.lastTermination.exitCode ?? '?'}` : ''
      problems.push(`pod ${p.name} is in ${p.reason} (${p.restarts} restarts${last})`)
    } else if (p.phase !== 'Running') problems.push(`pod ${p.name} is ${p.phase}${p.reason ? ` (${p.reason})` : ''}`)
    else if (!p.ready) problems.push(`pod ${p.name} is Running but not Ready`)
    if (p.lastTermination?.reason === 'OOMKilled' && !problems.some((x) => x.includes(p.name))) problems.push(`pod ${p.name} was OOMKilled (${p.restarts} restarts): raise its memory limit`)
  }
  for (const v of s.pvcs) if (!v.bound) problems.push(`PVC ${v.name} is ${v.phase}, not Bound`)
  return problems
}

/** A ready pod to forward to: the one asked for, else any Ready one (optionally of an image). */
export function readyPod(s: ClusterSnapshot, image?: string): PodInfo | undefined {
  return s.pods.find((p) => p.phase === 'Running' && p.ready && (!image || p.image === image))
}

/**
 * GET /xrpc/_health (and, when asked, sync.listRepos limit 1) through a fresh port-forward.
 * Never throws for the PDS's own failures: they are in `error`.
 */
export async function probeThroughForward(
  fwd: PortForwardOptions,
  timeoutMs: number,
  listAccounts = false,
  /** The command's interruption (SIGINT/SIGTERM): requests in flight end at once. */
  signal?: AbortSignal,
): Promise<HealthInfo & { accounts: { ok: boolean; firstPage: number | null; error: string | null } | null }> {
  const via = fwd.pod ? `pod/${fwd.pod}` : `svc/${fwd.service}`
  const [{ createKubeTarget }, { PdsClient }] = await Promise.all([import('./kubeTarget.js'), import('../pds/xrpcClient.js')])
  let target
  try {
    target = await createKubeTarget(fwd)
  } catch (err) {
    if (err instanceof KubeError) return { ok: false, status: null, version: null, pdsVersion: null, rttMs: null, error: err.message, via, accounts: null }
    throw err
  }
  const client: PdsClient = new PdsClient({ target, timeoutMs, debug: fwd.onDebug, readRetries: 1, signal })
  const out: HealthInfo & { accounts: { ok: boolean; firstPage: number | null; error: string | null } | null } = { ok: false, status: null, version: null, pdsVersion: null, rttMs: null, error: null, via, accounts: null }
  try {
    try {
      const res = await client.send({ method: 'GET', path: '/xrpc/_health', name: '_health' })
      const body = obj(res.body)
      out.status = res.status
      out.rttMs = Math.round(res.ms)
      out.version = str(body.version)
      out.pdsVersion = out.version ? pdsVersionOfReport(out.version) : null
      out.ok = res.status === 200
      if (!out.ok) out.error = `/xrpc/_health answered HTTP ${res.status}${body.error ? ` (${String(body.error)})` : ''}`
    } catch (err) {
      out.error = err instanceof PdsctlError ? err.message : String(err)
    }
    if (listAccounts && out.ok) {
      try {
        const page = await client.query('com.atproto.sync.listRepos', { limit: 1 })
        if (!Array.isArray(obj(page).repos)) out.accounts = { ok: false, firstPage: null, error: 'sync.listRepos answered without a repos list' }
        else out.accounts = { ok: true, firstPage: page.repos.length, error: null }
      } catch (err) {
        out.accounts = { ok: false, firstPage: null, error: err instanceof PdsctlError ? err.message : String(err) }
      }
    }
  } finally {
    await client.close().catch(() => {})
    await target.dispose()
  }
  return out
}

export interface StatusOptions extends ClusterTarget {
  /** The PDS port on the Service/Pod (3000). */
  port: number
  /** How many Warning events to keep (newest first). */
  events: number
  /** Skip the port-forward health check. */
  noHealth?: boolean
  timeoutMs: number
  /** Seconds kubectl port-forward waits for a running pod. */
  forwardTimeoutS?: number
  signal?: AbortSignal
}

export async function kubeStatus(o: StatusOptions): Promise<KubeStatus> {
  const snap = await readCluster(o, o.timeoutMs)
  const problems = findProblems(snap, o)
  let health: HealthInfo | null = null
  let healthSkipped: string | null = null
  const ready = readyPod(snap)
  if (o.noHealth) healthSkipped = '--no-health'
  else if (!ready) healthSkipped = snap.pods.length ? 'no pod is Running and Ready, so there is nothing to forward to' : 'no pod runs'
  else {
    // Through the Service when there is one (what users reach), else the Ready pod.
    const fwd: PortForwardOptions = {
      kubectl: o.kubectl,
      context: o.context,
      namespace: snap.namespace,
      env: o.env,
      onDebug: o.onDebug,
      port: o.port,
      ...(snap.service ? { service: snap.service.name } : { pod: ready.name }),
      readyTimeoutMs: (o.forwardTimeoutS ?? 20) * 1000 + 5000,
      podRunningTimeout: `${o.forwardTimeoutS ?? 20}s`,
    }
    const { accounts: _unused, ...h } = await probeThroughForward(fwd, o.timeoutMs, false, o.signal)
    health = h
    if (!h.ok) problems.push(`the PDS's health check failed through ${h.via}: ${h.error}`)
  }
  return { namespace: snap.namespace, deployment: snap.deployment, pods: snap.pods, pvcs: snap.pvcs, service: snap.service, events: snap.events.slice(0, o.events), health, healthSkipped, problems }
}
