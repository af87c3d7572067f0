import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import { DEFAULT_IMAGE_TAG, PDS_IMAGE, nextSteps, writeManifests } from '../../lib/k8s/manifests.js'

export default class K8sManifests extends BaseCommand<typeof K8sManifests> {
  static override summary = 'Write a kustomize folder that deploys a PDS on Kubernetes'
  static override description = `ServiceAccount, Service (port 3000), Deployment (Recreate, one replica, ${PDS_IMAGE}:${DEFAULT_IMAGE_TAG} by default, every variable the installer sets, secrets from the Secret, the PVC at /pds, probes on /xrpc/_health, requests and limits), PersistentVolumeClaim and kustomization.yaml.
Pair it with \`pdsctl secrets generate --format k8s\` (same Secret name and keys), written outside the folder and applied first (or sealed into it); the steps are printed. Existing files are not overwritten without --force; a symbolic link at an output file is refused without it, and replaced by the file (never written through) with it. Files are written 0644 whatever the umask. Check with \`kubectl kustomize DIR\`.
JSON: {dir, files}.`
  static override examples = [
    '<%= config.bin %> k8s manifests --hostname pds.example.com --dir deploy/pds',
    '<%= config.bin %> k8s manifests --hostname pds.example.com --namespace bluesky --storage-size 50Gi --storage-class longhorn',
  ]
  static override flags = {
    hostname: Flags.string({ description: 'The public hostname of the PDS.', required: true }),
    dir: Flags.string({ description: 'The folder to write.', default: 'pds-k8s' }),
    namespace: Flags.string({ description: 'Namespace.', default: 'pds' }),
    name: Flags.string({ description: 'Name of the Deployment, Service, ServiceAccount.', default: 'pds' }),
    'image-tag': Flags.string({ description: 'Image tag.', default: DEFAULT_IMAGE_TAG }),
    'storage-size': Flags.string({ description: 'PVC size.', default: '20Gi' }),
    'storage-class': Flags.string({ description: 'PVC storage class (default: the cluster default).' }),
    'secret-name': Flags.string({ description: 'The Secret holding the PDS secrets.', default: 'pds-secrets' }),
    force: Flags.boolean({ description: 'Overwrite existing files (a symbolic link is replaced, never written through).' }),
  }

  async run(): Promise<{ dir: string; files: string[] }> {
    const f = this.flags
    const res = await writeManifests(
      f.dir,
      { hostname: f.hostname, namespace: f.namespace, name: f.name, imageTag: f['image-tag'], storageSize: f['storage-size'], storageClass: f['storage-class'], secretName: f['secret-name'] },
      { force: f.force },
    )
    if (this.out.json) await this.out.printJson(res)
    else await this.out.write(res.files.map((p) => p + '\n').join(''))
    this.out.status(`Wrote ${res.files.length} files to ${res.dir}. Next, in this order:`)
    for (const step of nextSteps({ bin: this.config.bin, dir: f.dir, namespace: f.namespace, secretName: f['secret-name'] })) this.out.status(`  ${step}`)
    return res
  }
}
