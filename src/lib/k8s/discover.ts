// Finding the PDS in a namespace when it is not named (`--kube`, and so `kubectl pds`):
// one `kubectl get services,deployments -o json` gives the Service to forward to (by the
// PDS's labels, by the Deployment running the PDS image that it selects, else by its name),
// the Deployment behind it, and where that Deployment reads PDS_ADMIN_PASSWORD from (a
// Secret's key, through `env[].valueFrom.secretKeyRef` or `envFrom[].secretRef`). No Secret
// is read here: only its name and key are found; the value is read, when needed, by
// secret.ts. A value written into the Deployment itself is not taken: reading Deployments
// is not meant to hand out the admin password.
import { KubeError } from '../errors.js'
import { kubectlGetJson, type KubectlAccess } from './kubectl.js'
import { pdsContainer } from './status.js'

type Obj = Record<string, any>
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {})
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : [])
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null)

/** The labels the PDS's objects carry: what `k8s manifests` writes, and the community Helm chart's name. */
const PDS_NAME_LABELS = ['pds', 'bluesky-pds']
/** The official image, wherever it is mirrored. */
const PDS_IMAGE = /(^|\/)bluesky-social\/pds([:@]|$)/
/** Service names tried last. */
const PDS_NAMES = ['pds', 'bluesky', 'bluesky-pds']

export interface FoundPds {
  service: string
  /** The Service port to forward (the one named http, or the only one, else 3000). */
  port: number
  deployment: string | null
  image: string | null
  /** How the Service was found, in words. */
  how: string
  /** Where the Deployment reads PDS_ADMIN_PASSWORD from; null with `secretWhy` when not from a Secret. */
  adminSecret: { name: string; key: string } | null
  secretWhy: string
}

export interface FindOptions extends KubectlAccess {
  /** A Service named by the operator: only the Deployment and the Secret are looked for. */
  service?: string
  /** A pod named by the operator: the Service is not needed. */
  pod?: string
}

function selects(selector: Obj, labels: Obj): boolean {
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v)
}

const name = (o: Obj) => String(obj(o.metadata).name ?? '')
const labelled = (o: Obj) => PDS_NAME_LABELS.includes(String(obj(obj(o.metadata).labels)['app.kubernetes.io/name']))

/** The Secret key the PDS container's PDS_ADMIN_PASSWORD comes from, as Kubernetes resolves it (env beats envFrom; the last envFrom wins). */
export function adminPasswordSource(deployment: Obj | undefined): { secret: { name: string; key: string } | null; why: string } {
  if (!deployment) return { secret: null, why: 'no Deployment runs the PDS here' }
  const c = obj(pdsContainer(obj(obj(deployment.spec).template)))
  const where = `Deployment ${name(deployment)}`
  const env = arr(c.env).find((e) => e.name === 'PDS_ADMIN_PASSWORD')
  if (env) {
    const ref = obj(obj(env.valueFrom).secretKeyRef)
    if (str(ref.name) && str(ref.key)) return { secret: { name: String(ref.name), key: String(ref.key) }, why: `${where} reads PDS_ADMIN_PASSWORD from Secret ${ref.name}, key ${ref.key}` }
    if (typeof env.value === 'string') return { secret: null, why: `${where} sets PDS_ADMIN_PASSWORD as a plain value, not from a Secret` }
    return { secret: null, why: `${where} reads PDS_ADMIN_PASSWORD from something other than a Secret` }
  }
  for (const from of arr(c.envFrom).reverse()) {
    const ref = str(obj(from.secretRef).name)
    const prefix = typeof from.prefix === 'string' ? from.prefix : ''
    if (ref && 'PDS_ADMIN_PASSWORD'.startsWith(prefix) && prefix.length < 'PDS_ADMIN_PASSWORD'.length) {
      const key = 'PDS_ADMIN_PASSWORD'.slice(prefix.length)
      return { secret: { name: ref, key }, why: `${where} takes its environment from Secret ${ref} (envFrom), so PDS_ADMIN_PASSWORD is its key ${key}` }
    }
  }
  return { secret: null, why: `${where} does not read PDS_ADMIN_PASSWORD from a Secret` }
}

export async function findPds(o: FindOptions, timeoutMs = 30_000): Promise<FoundPds> {
  const list = obj(await kubectlGetJson('finding the PDS (kubectl get services,deployments)', ['services,deployments'], o, timeoutMs))
  const items = arr(list.items)
  const services = items.filter((i) => i.kind === 'Service')
  const deployments = items.filter((i) => i.kind === 'Deployment')
  const where = `namespace ${o.namespace ?? '(the context\'s)'}`
  const templateLabels = (d: Obj) => obj(obj(obj(obj(d.spec).template).metadata).labels)
  const runsPds = (d: Obj) => PDS_IMAGE.test(String(pdsContainer(obj(obj(d.spec).template))?.image ?? '')) || labelled(d)
  const pdsDeployments = deployments.filter(runsPds)
  const selected = (s: Obj) => deployments.filter((d) => selects(obj(obj(s.spec).selector), templateLabels(d)))

  let service: Obj | undefined
  let how: string
  if (o.service) {
    service = services.find((s) => name(s) === o.service)
    if (!service) throw new KubeError(`no Service ${o.service} in ${where}`, { hint: `List them with \`kubectl get services${o.namespace ? ` -n ${o.namespace}` : ''}\`` })
    how = 'named with --kube-service'
  } else if (o.pod) {
    how = 'a pod was named'
  } else {
    const byLabel = services.filter(labelled)
    const byDeployment = services.filter((s) => selected(s).some(runsPds))
    const both = byLabel.filter((s) => byDeployment.includes(s))
    const either = [...new Set([...byLabel, ...byDeployment])]
    const pick = both.length === 1 ? both : either
    if (pick.length === 1) {
      service = pick[0]
      const dep = selected(service).find(runsPds)
      how = dep ? `it selects the pods of Deployment ${name(dep)}, which runs ${pdsContainer(obj(obj(dep.spec).template))?.image ?? 'the PDS'}` : `its label app.kubernetes.io/name=${obj(obj(service.metadata).labels)['app.kubernetes.io/name']}`
    } else if (pick.length > 1) {
      throw new KubeError(`several Services in ${where} look like the PDS (${pick.map(name).sort().join(', ')})`, { hint: 'Name one with --kube-service NAME' })
    } else {
      service = PDS_NAMES.map((n) => services.find((s) => name(s) === n)).find(Boolean)
      if (!service) {
        throw new KubeError(`no Service in ${where} looks like the PDS (none is labelled app.kubernetes.io/name=pds, selects a Deployment running ghcr.io/bluesky-social/pds, or is named ${PDS_NAMES.join(', ')})`, {
          hint: `Name it with --kube-service NAME (\`kubectl get services${o.namespace ? ` -n ${o.namespace}` : ''}\`), or the namespace with -n/--kube-namespace`,
        })
      }
      how = `its name, ${name(service)}`
    }
  }

  const deployment = service ? (selected(service).find(runsPds) ?? selected(service)[0]) : pdsDeployments.length === 1 ? pdsDeployments[0] : undefined
  const ports = arr(obj(service?.spec).ports).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number')
  const port = ports.find((p) => p.port === 3000) ?? ports.find((p) => p.name === 'http') ?? (ports.length === 1 ? ports[0] : undefined)
  const pw = adminPasswordSource(deployment)
  return {
    service: service ? name(service) : '',
    port: typeof port?.port === 'number' ? port.port : 3000,
    deployment: deployment ? name(deployment) : null,
    image: deployment ? (str(pdsContainer(obj(obj(deployment.spec).template))?.image) ?? null) : null,
    how,
    adminSecret: pw.secret,
    secretWhy: pw.why,
  }
}
