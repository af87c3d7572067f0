// A fake Kubernetes API server that the real kubectl can drive: legacy discovery (core v1
// and apps/v1), one Namespace, one Service, a Deployment with its ReplicaSets and Pods (a
// small controller rolls a new template out: its pod goes Pending → Running, or
// crash-loops, as the scenario says), a PVC, Events, Secrets, and port-forward (kubectl's
// WebSocket attempt refused with 400 so it falls back to SPDY/3.1, whose data streams are
// piped to a backend port, e.g. the test PDS). Facts: /work/shared/notes/kubectl-port-forward.md.
// What kubectl 1.32 sends for get/set image/rollout status/rollout undo was read from its
// -v=8 log against this fake (see the k8s upgrade tests).
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { serveSpdy } from './spdy.js'

export type PodPhase = 'Running' | 'Pending'
/** What a pod of a given image does once scheduled: becomes Ready, crash-loops, or stays Pending. */
export type PodScenario = 'ready' | 'crash' | 'pending'

export interface FakeKubeOptions {
  /** The loopback port forwarded data streams connect to (the test PDS). */
  backendPort: number
  namespace?: string
  /** The Service's name (default 'bluesky'): port 3000 → targetPort 3000, selector app=NAME. */
  service?: string
  /** The first pod's name (default 'bluesky-0'); later pods are named DEPLOYMENT-HASH-xxxxx. */
  pod?: string
  podPhase?: PodPhase
  /** The Service selects no pod: the list is empty and the watch is held open. */
  noPods?: boolean
  /** https with a self-signed certificate; kubectl then sends the kubeconfig's bearer token. */
  tls?: boolean
  /** Answer the SPDY upgrade with 403 Forbidden. */
  forbidUpgrade?: boolean
  /** Secrets: name → {key: plaintext}; served base64-encoded. */
  secrets?: Record<string, Record<string, string>>
  /** The Deployment's name (default: the Service's name). */
  deployment?: string
  /** The running image (default ghcr.io/bluesky-social/pds:0.4.218). */
  image?: string
  /** What the first pod does (default 'ready'; podPhase 'Pending' means 'pending'). */
  initialScenario?: PodScenario
  /** What a pod of a new image does (default 'ready'); per image in `imageScenarios`. */
  scenario?: PodScenario
  imageScenarios?: Record<string, PodScenario>
  /** How long a new pod stays Pending before the scenario applies (default 300 ms). */
  startDelayMs?: number
  /** The data PVC's phase (default Bound). */
  pvcPhase?: 'Bound' | 'Pending'
  /**
   * The Deployment's strategy (default RollingUpdate: the old pod serves until the new one
   * is Ready). Recreate (what `pdsctl k8s manifests` writes, for one pod on a RWO volume)
   * deletes the old pod before the new one starts.
   */
  strategy?: 'RollingUpdate' | 'Recreate'
  /**
   * Per image, the backend its pods' port-forwards reach (default backendPort): pods of two
   * images answer as two PDS versions (a rollout that changes what /xrpc/_health says).
   */
  imageBackends?: Record<string, number>
  /** Labels on the Service (none by default), e.g. app.kubernetes.io/name=pds as `k8s manifests` writes. */
  serviceLabels?: Record<string, string>
  /** The PDS container's env and envFrom (where it reads PDS_ADMIN_PASSWORD from). */
  containerEnv?: Array<Record<string, unknown>>
  containerEnvFrom?: Array<Record<string, unknown>>
  /** More Services in the namespace (listed and readable; not forwardable). */
  extraServices?: Array<{ name: string; labels?: Record<string, string>; selector?: Record<string, string> }>
  /**
   * Lie in every JSON answer (the hostile-data suite): called with the request and the body
   * the fake would send, returns the body to send instead.
   */
  rewrite?: (req: { method: string; path: string }, body: unknown) => unknown
  /**
   * The PDS container mounts the data PVC here (as the official manifests do); default: it
   * only names the volume. PDS_DATA_DIRECTORY comes from containerEnv, when given.
   */
  dataMountPath?: string
}

export interface FakeKubeRequest {
  method: string
  /** Path and query, as sent. */
  path: string
  authorization?: string
  /** The Upgrade header, on the port-forward requests. */
  upgrade?: string
  /** The Content-Type, on PATCH and POST. */
  contentType?: string
  /** The body, on PATCH. */
  body?: string
}

export interface FakeKube {
  url: string
  kubeconfigPath: string
  /** KUBECACHEDIR for kubectl: unique to this fake, so tests also find their kubectl children by it. */
  cacheDir: string
  /** Environment for child processes: KUBECONFIG, KUBECACHEDIR, NO_PROXY. */
  env: Record<string, string>
  requests: FakeKubeRequest[]
  /** The SPDY port-forward sessions accepted so far. */
  readonly forwardSessions: number
  setPodPhase(phase: PodPhase): void
  /**
   * Forwarded connections fail as a kubelet's do (kubectl then exits 1 with "lost
   * connection to pod"): every one from now on, or with `once` only the next; null ends it.
   */
  setForwardError(message: string | null, opts?: { once?: boolean }): void
  /** Kill the live port-forward sessions (the pod restarting, the apiserver dropping). */
  dropConnections(): void
  /** The Deployment's current image, its revision, and the live pods (name, image, state). */
  state(): { image: string; revision: number; generation: number; pods: Array<{ name: string; image: string; scenario: PodScenario; restarts: number }>; replicaSets: Array<{ name: string; revision: number; replicas: number; image: string }> }
  close(): Promise<void>
}

type Obj = Record<string, any>

interface FakePod {
  name: string
  rs: FakeRs
  image: string
  scenario: PodScenario | 'starting'
  restarts: number
  created: string
  started?: string
}
interface FakeRs {
  name: string
  hash: string
  revision: number
  /** The template without the pod-template-hash label. */
  template: Obj
  replicas: number
  created: string
}

export async function startFakeKube(opts: FakeKubeOptions): Promise<FakeKube> {
  const ns = opts.namespace ?? 'bluesky'
  const svc = opts.service ?? 'bluesky'
  const deployName = opts.deployment ?? svc
  const firstPodName = opts.pod ?? 'bluesky-0'
  const startDelayMs = opts.startDelayMs ?? 300
  let forwardError: string | null = null
  let forwardErrorOnce = false
  let forwardSessions = 0
  const dir = mkdtempSync(path.join(tmpdir(), 'fakekube-'))
  const requests: FakeKubeRequest[] = []
  const sessions = new Set<net.Socket>()
  const held = new Set<http.ServerResponse>()
  const deploymentWatches = new Set<http.ServerResponse>()
  const timers = new Set<NodeJS.Timeout>()
  const nsPrefix = `/api/v1/namespaces/${ns}`
  const appsPrefix = `/apis/apps/v1/namespaces/${ns}`
  const claimName = `${svc}-data`
  // Every change bumps the resourceVersion; the first pod list answers '100' as before.
  let rv = 100
  const t0 = Date.now() - 3600_000
  const iso = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t)
      fn()
    }, ms)
    timers.add(t)
  }

  // --- the world -------------------------------------------------------------------------
  const templateFor = (image: string): Obj => ({
    metadata: { labels: { app: svc } },
    spec: {
      containers: [
        {
          name: 'pds',
          image,
          ports: [{ name: 'http', containerPort: 3000, protocol: 'TCP' }],
          ...(opts.containerEnv ? { env: opts.containerEnv } : {}),
          ...(opts.containerEnvFrom ? { envFrom: opts.containerEnvFrom } : {}),
          ...(opts.dataMountPath ? { volumeMounts: [{ name: 'data', mountPath: opts.dataMountPath }] } : {}),
          resources: {},
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  })
  const deploy = {
    uid: 'deploy-uid-0001',
    generation: 1,
    observedGeneration: 1,
    annotations: {} as Record<string, string>,
    template: templateFor(opts.image ?? 'ghcr.io/bluesky-social/pds:0.4.218'),
  }
  const replicaSets: FakeRs[] = []
  const pods: FakePod[] = []
  const events: Obj[] = []
  const imageOf = (t: Obj): string => t?.spec?.containers?.[0]?.image ?? ''
  const scenarioFor = (image: string): PodScenario => opts.imageScenarios?.[image] ?? opts.scenario ?? 'ready'
  const canonical = (v: unknown): string =>
    Array.isArray(v) ? `[${v.map(canonical).join(',')}]` : v && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`).join(',')}}` : JSON.stringify(v)
  const withoutHash = (t: Obj): Obj => {
    const c = structuredClone(t)
    if (c?.metadata?.labels) delete c.metadata.labels['pod-template-hash']
    // kubectl rollout undo sends the template back with `creationTimestamp: null`.
    if (c?.metadata && c.metadata.creationTimestamp == null) delete c.metadata.creationTimestamp
    return c
  }
  const hashOf = (t: Obj) => {
    const h = createHash('sha256').update(canonical(withoutHash(t))).digest()
    // kube's hashes use the "safe" alphabet (no vowels); any stable 10 chars will do here.
    return [...h.subarray(0, 10)].map((b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join('')
  }
  const addEvent = (kind: string, name: string, reason: string, message: string, type = 'Warning') => {
    const existing = events.find((e) => e.involvedObject.name === name && e.reason === reason)
    const now = iso()
    if (existing) {
      existing.count++
      existing.lastTimestamp = now
      existing.message = message
      existing.metadata.resourceVersion = String(++rv)
      return
    }
    events.push({
      kind: 'Event',
      apiVersion: 'v1',
      metadata: { name: `${name}.${(events.length + 1).toString(16).padStart(8, '0')}`, namespace: ns, resourceVersion: String(++rv), creationTimestamp: now },
      involvedObject: { kind, name, namespace: ns, apiVersion: kind === 'Pod' || kind === 'PersistentVolumeClaim' ? 'v1' : 'apps/v1' },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: kind === 'Pod' ? 'kubelet' : 'persistentvolume-controller' },
    })
  }

  const firstRs: FakeRs = { name: '', hash: '', revision: 1, template: deploy.template, replicas: 1, created: iso(t0) }
  firstRs.hash = hashOf(firstRs.template)
  firstRs.name = `${deployName}-${firstRs.hash}`
  replicaSets.push(firstRs)
  const initial: PodScenario = opts.initialScenario ?? (opts.podPhase === 'Pending' ? 'pending' : 'ready')
  const firstPod: FakePod = { name: firstPodName, rs: firstRs, image: imageOf(firstRs.template), scenario: initial, restarts: 0, created: iso(t0), started: initial === 'pending' ? undefined : iso(t0 + 5000) }
  if (!opts.noPods) pods.push(firstPod)
  if (initial === 'crash') crashOnce(firstPod, 4)
  if (opts.pvcPhase === 'Pending') addEvent('PersistentVolumeClaim', claimName, 'ProvisioningFailed', 'storageclass.storage.k8s.io "longhorn" not found')

  function crashOnce(p: FakePod, times = 1) {
    p.restarts += times
    addEvent('Pod', p.name, 'BackOff', `Back-off restarting failed container pds in pod ${p.name}_${ns}(pod-uid-${p.name})`)
  }

  const podReady = (p: FakePod) => p.scenario === 'ready'
  const currentRs = () => replicaSets.reduce((a, b) => (b.revision > a.revision ? b : a))
  const livePods = () => pods

  const podJson = (p: FakePod): Obj => {
    const base = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name: p.name,
        namespace: ns,
        labels: { ...(p.rs.template.metadata?.labels ?? {}), 'pod-template-hash': p.rs.hash },
        uid: p.name === firstPodName ? 'fake-uid' : `pod-uid-${p.name}`,
        resourceVersion: String(rv),
        creationTimestamp: p.created,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: p.rs.name, uid: `rs-uid-${p.rs.hash}`, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...structuredClone(p.rs.template.spec), nodeName: 'node-1' },
    }
    const c = { name: 'pds', image: p.image, imageID: '', restartCount: p.restarts, started: podReady(p), ready: podReady(p) }
    if (p.scenario === 'pending' || p.scenario === 'starting') {
      return {
        ...base,
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
          containerStatuses: [{ ...c, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} }],
        },
      }
    }
    if (p.scenario === 'crash') {
      return {
        ...base,
        status: {
          phase: 'Running',
          startTime: p.started,
          conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [pds]' }],
          containerStatuses: [
            {
              ...c,
              state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=pds pod=${p.name}_${ns}(pod-uid-${p.name})` } },
              lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: p.started, finishedAt: iso() } },
            },
          ],
        },
      }
    }
    return {
      ...base,
      status: {
        phase: 'Running',
        startTime: p.started,
        conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True', lastTransitionTime: p.started }],
        containerStatuses: [{ ...c, state: { running: { startedAt: p.started } }, lastState: {} }],
      },
    }
  }
  const rsJson = (r: FakeRs): Obj => {
    const mine = pods.filter((p) => p.rs === r)
    const template = structuredClone(r.template)
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': r.hash } }
    return {
      kind: 'ReplicaSet',
      apiVersion: 'apps/v1',
      metadata: {
        name: r.name,
        namespace: ns,
        uid: `rs-uid-${r.hash}`,
        resourceVersion: String(rv),
        creationTimestamp: r.created,
        labels: template.metadata.labels,
        annotations: { 'deployment.kubernetes.io/revision': String(r.revision), 'deployment.kubernetes.io/desired-replicas': '1', 'deployment.kubernetes.io/max-replicas': '2' },
        // kubectl rollout undo keeps only the ReplicaSets whose controller is this Deployment's uid.
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deployName, uid: deploy.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { replicas: r.replicas, selector: { matchLabels: { app: svc, 'pod-template-hash': r.hash } }, template },
      status: { replicas: mine.length, readyReplicas: mine.filter(podReady).length, availableReplicas: mine.filter(podReady).length, observedGeneration: 1 },
    }
  }
  const deploymentJson = (): Obj => {
    const cur = currentRs()
    const all = livePods()
    const updated = all.filter((p) => p.rs === cur)
    const ready = all.filter(podReady)
    const progressing = updated.length && updated.every(podReady)
    return {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: {
        name: deployName,
        namespace: ns,
        uid: deploy.uid,
        generation: deploy.generation,
        resourceVersion: String(rv),
        creationTimestamp: iso(t0),
        labels: { app: svc },
        annotations: { ...deploy.annotations, 'deployment.kubernetes.io/revision': String(cur.revision) },
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: svc } },
        template: structuredClone(deploy.template),
        strategy: opts.strategy === 'Recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: deploy.observedGeneration,
        replicas: all.length,
        updatedReplicas: updated.length,
        readyReplicas: ready.length,
        availableReplicas: ready.length,
        ...(ready.length < 1 ? { unavailableReplicas: 1 - ready.length } : {}),
        conditions: [
          { type: 'Available', status: ready.length >= 1 ? 'True' : 'False', reason: ready.length >= 1 ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
          { type: 'Progressing', status: 'True', reason: progressing ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${cur.name}" ${progressing ? 'has successfully progressed' : 'is progressing'}.` },
        ],
      },
    }
  }
  const serviceJson = (name = svc, labels = opts.serviceLabels, selector: Record<string, string> = { app: svc }) => ({
    kind: 'Service',
    apiVersion: 'v1',
    // metadata.namespace matters: kubectl lists the pods in the Service's namespace.
    metadata: { name, namespace: ns, resourceVersion: '50', creationTimestamp: iso(t0), ...(labels ? { labels } : {}) },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 3000, targetPort: 3000, protocol: 'TCP' }], clusterIP: '10.0.0.10' },
  })
  const allServices = () => [serviceJson(), ...(opts.extraServices ?? []).map((x) => serviceJson(x.name, x.labels, x.selector ?? { app: x.name }))]
  const pvcJson = () => ({
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    metadata: { name: claimName, namespace: ns, resourceVersion: '60', creationTimestamp: iso(t0) },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } }, storageClassName: 'longhorn', volumeMode: 'Filesystem', ...(opts.pvcPhase === 'Pending' ? {} : { volumeName: 'pvc-0a1b2c3d' }) },
    status: opts.pvcPhase === 'Pending' ? { phase: 'Pending' } : { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '20Gi' } },
  })

  /** Tell the watchers of the Deployment (kubectl rollout status) that it changed. */
  const changed = () => {
    rv++
    const line = JSON.stringify({ type: 'MODIFIED', object: deploymentJson() }) + '\n'
    for (const w of deploymentWatches) w.write(line)
  }

  /** The controller: the template's ReplicaSet becomes the newest revision and gets its pod. */
  const reconcile = () => {
    const key = canonical(withoutHash(deploy.template))
    let rs = replicaSets.find((r) => canonical(withoutHash(r.template)) === key)
    const max = Math.max(...replicaSets.map((r) => r.revision))
    if (!rs) {
      rs = { name: '', hash: hashOf(deploy.template), revision: max + 1, template: withoutHash(deploy.template), replicas: 1, created: iso() }
      rs.name = `${deployName}-${rs.hash}`
      replicaSets.push(rs)
    } else if (rs.revision !== max) {
      rs.revision = max + 1 // a rollback: the old ReplicaSet becomes the newest revision
    }
    rs.replicas = 1
    deploy.observedGeneration = deploy.generation
    const target = rs
    if (opts.strategy === 'Recreate') {
      // Every old pod goes before the new one is created.
      for (const r of replicaSets) if (r !== target) r.replicas = 0
      for (let i = pods.length - 1; i >= 0; i--) if (pods[i].rs !== target) pods.splice(i, 1)
    }
    let pod = pods.find((p) => p.rs === target)
    if (!pod) {
      pod = { name: `${deployName}-${target.hash}-${Math.random().toString(36).slice(2, 7)}`, rs: target, image: imageOf(target.template), scenario: 'starting', restarts: 0, created: iso() }
      pods.push(pod)
      const p = pod
      later(startDelayMs, () => {
        if (!pods.includes(p)) return
        p.scenario = scenarioFor(p.image)
        p.started = iso()
        if (p.scenario === 'crash') {
          crashOnce(p)
          // Restart now and then, as a crash-looping container does.
          const again = () => later(Math.max(500, startDelayMs * 3), () => {
            if (!pods.includes(p) || p.scenario !== 'crash') return
            crashOnce(p)
            changed()
            again()
          })
          again()
        }
        scaleDownOld()
        changed()
      })
    }
    scaleDownOld()
    changed()
  }
  /** Old ReplicaSets go to 0 once the newest one's pod is Ready (maxUnavailable 0 for one replica). */
  const scaleDownOld = () => {
    const cur = currentRs()
    if (!pods.some((p) => p.rs === cur && podReady(p))) return
    for (const r of replicaSets) if (r !== cur) r.replicas = 0
    for (let i = pods.length - 1; i >= 0; i--) if (pods[i].rs !== cur) pods.splice(i, 1)
  }

  // --- patches ---------------------------------------------------------------------------
  const applyPatch = (target: Obj, contentType: string, body: string): Obj => {
    const patch = JSON.parse(body)
    if (contentType.startsWith('application/json-patch+json')) {
      const out = structuredClone(target)
      for (const op of patch as Array<{ op: string; path: string; value?: unknown }>) {
        const parts = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        let at: Obj = out
        for (const k of parts.slice(0, -1)) at = at[k] ??= {}
        const last = parts.at(-1)!
        if (op.op === 'remove') delete at[last]
        else if (op.op === 'replace' || op.op === 'add') at[last] = structuredClone(op.value)
        else if (op.op !== 'test') throw new Error(`json patch op ${op.op} not supported by the fake`)
      }
      return out
    }
    const strategic = contentType.startsWith('application/strategic-merge-patch+json')
    const merge = (t: unknown, p: unknown): unknown => {
      if (!p || typeof p !== 'object' || Array.isArray(p)) {
        if (strategic && Array.isArray(p) && Array.isArray(t) && p.every((x) => x && typeof x === 'object' && 'name' in x)) {
          // Lists of named things (containers, volumes, ports) merge by name.
          const out = structuredClone(t) as Obj[]
          for (const item of p as Obj[]) {
            const i = out.findIndex((x) => x?.name === item.name)
            if (i >= 0) out[i] = merge(out[i], item) as Obj
            else out.push(item)
          }
          return out
        }
        return structuredClone(p)
      }
      const out: Obj = t && typeof t === 'object' && !Array.isArray(t) ? structuredClone(t) : {}
      for (const [k, v] of Object.entries(p)) {
        if (k.startsWith('$')) continue // $setElementOrder/… and $patch directives
        if (v === null) delete out[k]
        else out[k] = merge(out[k], v)
      }
      return out
    }
    if (!strategic && !contentType.startsWith('application/merge-patch+json')) throw new Error(`patch type ${contentType} not supported`)
    return merge(target, patch) as Obj
  }

  const notFound = (res: http.ServerResponse, message: string) => status(res, 404, 'NotFound', message)
  const selects = (labels: Record<string, string>, selector: string | null) =>
    !selector || selector.split(',').every((term) => {
      const [k, v] = term.split('=')
      return labels[k] === v
    })
  const list = (kind: string, apiVersion: string, items: Obj[]) => ({ kind: `${kind}List`, apiVersion, metadata: { resourceVersion: String(rv) }, items })
  const fieldMatch = (o: Obj, fieldSelector: string | null) =>
    !fieldSelector || fieldSelector.split(',').every((term) => {
      const [k, v] = term.split('=')
      const val = k.split('.').reduce<any>((a, part) => a?.[part], o)
      return String(val) === v
    })

  const coreResources = () => {
    const r = (name: string, kind: string, namespaced: boolean, shortNames?: string[], verbs = ['get', 'list', 'watch']) => ({ name, singularName: '', namespaced, kind, verbs, ...(shortNames ? { shortNames } : {}) })
    // shortNames ["svc"] is what lets kubectl resolve `svc/NAME`.
    return [
      r('namespaces', 'Namespace', false, ['ns']),
      r('pods', 'Pod', true, ['po']),
      r('pods/portforward', 'PodPortForwardOptions', true),
      r('services', 'Service', true, ['svc']),
      r('secrets', 'Secret', true),
      r('persistentvolumeclaims', 'PersistentVolumeClaim', true, ['pvc']),
      r('events', 'Event', true, ['ev']),
    ]
  }
  const appsResources = () => {
    const verbs = ['get', 'list', 'watch', 'patch', 'update']
    return [
      { name: 'deployments', singularName: 'deployment', namespaced: true, kind: 'Deployment', verbs, shortNames: ['deploy'], categories: ['all'] },
      { name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: ['get'] },
      { name: 'replicasets', singularName: 'replicaset', namespaced: true, kind: 'ReplicaSet', verbs, shortNames: ['rs'], categories: ['all'] },
    ]
  }

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    })

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const entry: FakeKubeRequest = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization }
    requests.push(entry)
    if (opts.rewrite) rewrites.set(res, (body) => opts.rewrite!({ method: entry.method, path: entry.path }, body))
    if (req.method === 'PATCH' || req.method === 'POST') {
      entry.contentType = req.headers['content-type']
      entry.body = await readBody(req)
    }
    const url = new URL(req.url ?? '/', 'http://x')
    const p = url.pathname
    const q = url.searchParams
    // /version decides which kubectl the gcloud dispatcher runs: 32 pins its embedded 1.32.
    if (p === '/version') return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' })
    if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] })
    if (p === '/apis') {
      const v = { groupVersion: 'apps/v1', version: 'v1' }
      return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'apps', versions: [v], preferredVersion: v }] })
    }
    if (p === '/api/v1') return send(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: coreResources() })
    if (p === '/apis/apps/v1') return send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'apps/v1', resources: appsResources() })
    const nsMatch = /^\/apis?\/(?:apps\/)?v1\/namespaces\/([^/]+)(\/.*)?$/.exec(p)
    if (nsMatch && nsMatch[1] !== ns) return notFound(res, `namespaces "${nsMatch[1]}" not found`)
    if (p === nsPrefix) return send(res, 200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: ns }, status: { phase: 'Active' } })

    // apps/v1
    if (p === `${appsPrefix}/deployments`) {
      const items = [deploymentJson()].filter((d) => fieldMatch(d, q.get('fieldSelector')) && selects(d.metadata.labels, q.get('labelSelector')))
      if (q.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
        res.flushHeaders()
        // Anything newer than what the watcher listed is sent at once.
        const since = Number(q.get('resourceVersion') ?? 0)
        if (items.length && since < rv) res.write(JSON.stringify({ type: 'MODIFIED', object: items[0] }) + '\n')
        if (items.length) deploymentWatches.add(res)
        held.add(res)
        res.on('close', () => {
          held.delete(res)
          deploymentWatches.delete(res)
        })
        return
      }
      return send(res, 200, list('Deployment', 'apps/v1', items))
    }
    const deployNamed = new RegExp(`^${appsPrefix}/deployments/([^/]+)$`).exec(p)
    if (deployNamed) {
      if (deployNamed[1] !== deployName) return notFound(res, `deployments.apps "${deployNamed[1]}" not found`)
      if (req.method === 'GET') return send(res, 200, deploymentJson())
      if (req.method === 'PATCH') {
        let next: Obj
        try {
          next = applyPatch(deploymentJson(), entry.contentType ?? '', entry.body ?? '')
        } catch (err) {
          return status(res, 415, 'UnsupportedMediaType', (err as Error).message)
        }
        if (q.get('dryRun') === 'All') return send(res, 200, next)
        const templateChanged = canonical(next.spec?.template) !== canonical(deploy.template)
        deploy.annotations = Object.fromEntries(Object.entries(next.metadata?.annotations ?? {}).filter(([k]) => k !== 'deployment.kubernetes.io/revision')) as Record<string, string>
        if (templateChanged) {
          deploy.template = structuredClone(next.spec.template)
          deploy.generation++
          reconcile()
        } else changed()
        return send(res, 200, deploymentJson())
      }
      return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported on deployments by the fake`)
    }
    if (p === `${appsPrefix}/replicasets`) {
      return send(res, 200, list('ReplicaSet', 'apps/v1', replicaSets.map(rsJson).filter((r) => selects(r.metadata.labels, q.get('labelSelector')))))
    }
    const rsNamed = new RegExp(`^${appsPrefix}/replicasets/([^/]+)$`).exec(p)
    if (rsNamed) {
      const r = replicaSets.find((x) => x.name === rsNamed[1])
      return r ? send(res, 200, rsJson(r)) : notFound(res, `replicasets.apps "${rsNamed[1]}" not found`)
    }

    // core v1
    const named = /^\/api\/v1\/namespaces\/[^/]+\/(services|pods|secrets|persistentvolumeclaims)\/([^/]+)$/.exec(p)
    if (named?.[1] === 'services') {
      const found = allServices().find((x) => x.metadata.name === named[2])
      return found ? send(res, 200, found) : notFound(res, `services "${named[2]}" not found`)
    }
    if (named?.[1] === 'pods') {
      const pod = pods.find((x) => x.name === named[2])
      return pod ? send(res, 200, podJson(pod)) : notFound(res, `pods "${named[2]}" not found`)
    }
    if (named?.[1] === 'persistentvolumeclaims') return named[2] === claimName ? send(res, 200, pvcJson()) : notFound(res, `persistentvolumeclaims "${named[2]}" not found`)
    if (named?.[1] === 'secrets') {
      const secret = opts.secrets?.[named[2]]
      if (!secret) return notFound(res, `secrets "${named[2]}" not found`)
      const data = Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
      return send(res, 200, { kind: 'Secret', apiVersion: 'v1', metadata: { name: named[2], namespace: ns }, type: 'Opaque', data })
    }
    if (p === `${nsPrefix}/pods`) {
      if (q.get('watch') === 'true') {
        // No pod will ever come: hold the watch open until kubectl gives up.
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
        res.flushHeaders()
        held.add(res)
        res.on('close', () => held.delete(res))
        return
      }
      return send(res, 200, list('Pod', 'v1', pods.map(podJson).filter((x) => selects(x.metadata.labels, q.get('labelSelector')))))
    }
    if (p === `${nsPrefix}/persistentvolumeclaims`) return send(res, 200, list('PersistentVolumeClaim', 'v1', [pvcJson()]))
    if (p === `${nsPrefix}/services`) return send(res, 200, list('Service', 'v1', allServices()))
    if (p === `${nsPrefix}/events`) return send(res, 200, list('Event', 'v1', events.filter((e) => fieldMatch(e, q.get('fieldSelector')))))
    // Reached only without an Upgrade header (upgrades go to the 'upgrade' event).
    const pf = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)\/portforward$/.exec(p)
    if (pf && pods.some((x) => x.name === pf[1])) return status(res, 400, 'BadRequest', 'port-forward needs an upgrade to SPDY/3.1')
    return notFound(res, 'the server could not find the requested resource')
  }

  let server: http.Server
  if (opts.tls) {
    // A fresh self-signed pair per fake; EC keys are generated in milliseconds.
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => void handler(req, res))
  } else {
    server = http.createServer((req, res) => void handler(req, res))
  }
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const upgrade = String(req.headers.upgrade ?? '')
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, upgrade })
    socket.on('error', () => socket.destroy())
    const pf = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(req.url ?? '')
    const pod = pf && pf[1] === ns ? pods.find((x) => x.name === pf[2]) : undefined
    if (!pod || upgrade.toLowerCase() !== 'spdy/3.1') {
      // Refusing the WebSocket tunnel makes kubectl fall back to plain SPDY.
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    if (opts.forbidUpgrade) {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403, message: `pods "${pod.name}" is forbidden: User "test" cannot create resource "pods/portforward" in API group "" in the namespace "${ns}"` })
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
      return
    }
    // X-Stream-Protocol-Version is required: kubectl checks the negotiated protocol.
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n')
    forwardSessions++
    sessions.add(socket)
    socket.on('close', () => sessions.delete(socket))
    serveSpdy(socket, {
      backendPort: opts.imageBackends?.[pod.image] ?? opts.backendPort,
      takeForwardError: () => {
        // A pod whose container is not running refuses connections, as the kubelet reports.
        if (!podReady(pod)) return `error forwarding port 3000 to pod ${pod.name}, uid : failed to connect to localhost:3000 inside namespace "${ns}": connection refused`
        const e = forwardError
        if (forwardErrorOnce) forwardError = null
        return e
      },
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  const kubeconfigPath = path.join(dir, 'kubeconfig')
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${url}`,
      ...(opts.tls ? ['    insecure-skip-tls-verify: true'] : []),
      'users:',
      '- name: fake',
      '  user:',
      // kubectl sends it only over https.
      '    token: test-token',
      'contexts:',
      '- name: fake',
      `  context: {cluster: fake, user: fake, namespace: ${ns}}`,
      'current-context: fake',
      '',
    ].join('\n'),
  )
  const cacheDir = path.join(dir, 'cache')
  let closed: Promise<void> | undefined
  return {
    url,
    kubeconfigPath,
    cacheDir,
    env: { KUBECONFIG: kubeconfigPath, KUBECACHEDIR: cacheDir, NO_PROXY: '127.0.0.1,localhost' },
    requests,
    get forwardSessions() {
      return forwardSessions
    },
    setPodPhase: (ph) => {
      firstPod.scenario = ph === 'Pending' ? 'pending' : 'ready'
    },
    setForwardError: (m, o) => {
      forwardError = m
      forwardErrorOnce = o?.once ?? false
    },
    dropConnections: () => {
      for (const s of sessions) s.destroy()
    },
    state: () => ({
      image: imageOf(deploy.template),
      revision: currentRs().revision,
      generation: deploy.generation,
      pods: pods.map((x) => ({ name: x.name, image: x.image, scenario: x.scenario === 'starting' ? 'pending' : x.scenario, restarts: x.restarts })),
      replicaSets: replicaSets.map((r) => ({ name: r.name, revision: r.revision, replicas: r.replicas, image: imageOf(r.template) })),
    }),
    close: () =>
      (closed ??= new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t)
        for (const s of sessions) s.destroy()
        for (const h of held) h.destroy()
        server.closeAllConnections()
        server.close(() => {
          rmSync(dir, { recursive: true, force: true })
          r()
        })
      })),
  }
}

/** The rewrite (FakeKubeOptions.rewrite) of each answer in progress. */
const rewrites = new WeakMap<http.ServerResponse, (body: unknown) => unknown>()

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const rewrite = rewrites.get(res)
  const text = JSON.stringify(rewrite ? rewrite(body) : body)
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** An error as the apiserver sends it; kubectl prints `Error from server (<reason>): <message>`. */
function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code })
}

export interface LoopbackBackend {
  port: number
  url: string
  /** TCP connections accepted so far (each forwarded local connection is one). */
  readonly connections: number
  close(): Promise<void>
}

/**
 * A plain HTTP server on loopback to forward to when the real PDS is not needed:
 * GET /hello → JSON; POST /echo → the body back; GET /bytes?n=N → N patterned bytes;
 * GET /barrier?n=K → answers once K such requests are open at the same time (proves
 * parallel connections); an HTTP/1.0 request gets its answer and then EOF.
 */
export async function startLoopbackBackend(): Promise<LoopbackBackend> {
  let connections = 0
  let waiting: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/hello') return send(res, 200, { hello: 'from the backend', path: url.pathname })
    if (url.pathname === '/echo') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
        res.end(body)
      })
      return
    }
    if (url.pathname === '/bytes') return void res.end(patternBytes(Number(url.searchParams.get('n'))))
    if (url.pathname === '/barrier') {
      waiting.push(res)
      if (waiting.length >= Number(url.searchParams.get('n'))) {
        const all = waiting
        waiting = []
        for (const r of all) send(r, 200, { together: all.length })
      }
      return
    }
    send(res, 404, { error: 'NotFound' })
  })
  server.on('connection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** n bytes of a pattern that shifts every 251 bytes, so a dropped or repeated chunk shows. */
export function patternBytes(n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + Math.floor(i / 251)) & 0xff
  return b
}
