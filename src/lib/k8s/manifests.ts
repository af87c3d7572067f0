// `pdsctl k8s manifests`: a kustomize folder for one PDS — ServiceAccount, Service,
// Deployment (Recreate, one replica: SQLite on a ReadWriteOnce volume allows one writer),
// PersistentVolumeClaim and kustomization.yaml — with every environment variable the
// official installer sets and the secrets from the Secret that `secrets generate` makes.
import { mkdir, writeFile, access } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from '../errors.js'
import { parseK8sName, SECRET_KEYS } from '../selfhost/secrets.js'
import { KNOWN_PDS_IMAGE } from './imageTags.js'

/**
 * The official image and the tag pinned by default: the newest one pdsctl can verify, the
 * same constant `k8s upgrade` offers (imageTags.ts: 0.4.5026 carries @atproto/pds 0.5.26).
 */
export const PDS_IMAGE = KNOWN_PDS_IMAGE.repository
export const DEFAULT_IMAGE_TAG = KNOWN_PDS_IMAGE.tag

export interface ManifestInput {
  hostname: string
  namespace?: string
  name?: string
  imageTag?: string
  storageSize?: string
  storageClass?: string
  secretName?: string
}

/** Every plain variable the installer writes into pds.env (the secrets come from the Secret). */
export function installerEnv(hostname: string): Record<string, string> {
  return {
    PDS_HOSTNAME: hostname,
    PDS_PORT: '3000',
    PDS_DATA_DIRECTORY: '/pds',
    PDS_BLOBSTORE_DISK_LOCATION: '/pds/blocks',
    PDS_BLOB_UPLOAD_LIMIT: '104857600',
    PDS_DID_PLC_URL: 'https://plc.directory',
    PDS_BSKY_APP_VIEW_URL: 'https://api.bsky.app',
    PDS_BSKY_APP_VIEW_DID: 'did:web:api.bsky.app',
    PDS_REPORT_SERVICE_URL: 'https://mod.bsky.app',
    PDS_REPORT_SERVICE_DID: 'did:plc:ar7c4by46qjdydhdevvrndac',
    PDS_CRAWLERS: 'https://bsky.network',
    LOG_ENABLED: 'true',
  }
}

function validate(input: ManifestInput): Required<Omit<ManifestInput, 'storageClass'>> & { storageClass?: string } {
  const hostname = input.hostname.trim().toLowerCase()
  if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$/.test(hostname)) {
    throw new UsageError(`--hostname "${input.hostname}" is not a public hostname`, { hint: 'e.g. pds.example.com (no https://)' })
  }
  const storageSize = input.storageSize ?? '20Gi'
  if (!/^[1-9]\d*(Mi|Gi|Ti)$/.test(storageSize)) throw new UsageError(`--storage-size "${storageSize}" is not a size like 20Gi`)
  const imageTag = input.imageTag ?? DEFAULT_IMAGE_TAG
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(imageTag)) throw new UsageError(`--image-tag "${imageTag}" is not an image tag`)
  if (input.storageClass !== undefined) parseK8sName(input.storageClass, '--storage-class')
  return {
    hostname,
    namespace: parseK8sName(input.namespace ?? 'pds', '--namespace'),
    name: parseK8sName(input.name ?? 'pds', '--name'),
    imageTag,
    storageSize,
    storageClass: input.storageClass,
    secretName: parseK8sName(input.secretName ?? 'pds-secrets', '--secret-name'),
  }
}

export async function buildManifests(input: ManifestInput): Promise<{ files: Array<{ name: string; content: string }> }> {
  const v = validate(input)
  const { stringify } = await import('yaml')
  const labels = { 'app.kubernetes.io/name': 'pds', 'app.kubernetes.io/instance': v.name }
  const env = [
    ...Object.entries(installerEnv(v.hostname)).map(([name, value]) => ({ name, value })),
    ...Object.entries(SECRET_KEYS).map(([key, name]) => ({
      name,
      valueFrom: { secretKeyRef: { name: v.secretName, key, ...(key.startsWith('smtp') ? { optional: true } : {}) } },
    })),
  ]
  const probe = { httpGet: { path: '/xrpc/_health', port: 'http' } }
  const objects: Array<[string, unknown]> = [
    ['serviceaccount.yaml', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: v.name, labels } }],
    [
      'service.yaml',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: v.name, labels },
        spec: { selector: labels, ports: [{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }] },
      },
    ],
    [
      'pvc.yaml',
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: `${v.name}-data`, labels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: v.storageSize } },
          ...(v.storageClass ? { storageClassName: v.storageClass } : {}),
        },
      },
    ],
    [
      'deployment.yaml',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: v.name, labels },
        spec: {
          replicas: 1,
          strategy: { type: 'Recreate' },
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: v.name,
              securityContext: { fsGroup: 1000 },
              containers: [
                {
                  name: 'pds',
                  image: `${PDS_IMAGE}:${v.imageTag}`,
                  ports: [{ name: 'http', containerPort: 3000 }],
                  env,
                  volumeMounts: [{ name: 'data', mountPath: '/pds' }],
                  livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 30, failureThreshold: 3 },
                  readinessProbe: { ...probe, periodSeconds: 10 },
                  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                },
              ],
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `${v.name}-data` } }],
            },
          },
        },
      },
    ],
  ]
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: v.namespace,
    resources: objects.map(([name]) => name),
  }
  const header = `# Generated by pdsctl k8s manifests for ${v.hostname}. The Secret ${v.secretName} (pdsctl secrets generate --format k8s) is applied first and separately, or sealed (kubeseal) into sealed-secret.yaml listed below: never commit it unsealed.\n`
  return {
    files: [
      ...objects.map(([name, obj]) => ({ name, content: stringify(obj, { lineWidth: 0 }) })),
      { name: 'kustomization.yaml', content: header + stringify(kustomization, { lineWidth: 0 }) },
    ],
  }
}

export async function writeManifests(dir: string, input: ManifestInput, opts: { force?: boolean } = {}): Promise<{ dir: string; files: string[] }> {
  const { files } = await buildManifests(input)
  const targets = files.map((f) => ({ ...f, path: path.join(dir, f.name) }))
  if (!opts.force) {
    const existing = (await Promise.all(targets.map(async (t) => ((await access(t.path).then(() => true, () => false)) ? t.path : null)))).filter(Boolean)
    if (existing.length) throw new UsageError(`would overwrite ${existing.join(', ')}`, { hint: 'Pass --force, or choose another --dir' })
  }
  await mkdir(dir, { recursive: true })
  for (const t of targets) await writeFile(t.path, t.content)
  return { dir, files: targets.map((t) => t.path) }
}

/**
 * What to run after writing the folder, in an order that works: the Secret is made OUTSIDE
 * the folder (people commit that folder, and the Secret is not sealed), applied (or sealed
 * into the folder) BEFORE the Deployment that reads it, then the folder is applied.
 */
export function nextSteps(input: { bin: string; dir: string; namespace: string; secretName: string }): string[] {
  const secretFile = `$HOME/${input.secretName}.secret.yaml`
  const nameFlag = input.secretName === 'pds-secrets' ? '' : ` --name ${input.secretName}`
  return [
    `1. ${input.bin} secrets generate --format k8s --namespace ${input.namespace}${nameFlag} --output ${secretFile}   (outside ${input.dir}: it is not sealed, keep it out of git)`,
    `2. kubectl create namespace ${input.namespace}   (once)`,
    `3. kubectl apply -f ${secretFile}   (or seal it into the folder: kubeseal -f ${secretFile} -w ${input.dir}/sealed-secret.yaml, add sealed-secret.yaml to the resources of ${input.dir}/kustomization.yaml, then delete ${secretFile})`,
    `4. kubectl apply -k ${input.dir}`,
  ]
}
