import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { KubeError, UsageError } from '../../lib/errors.js'

/** `pdsctl k8s forward --json` shape (printed once the forward is up). */
export interface ForwardInfo {
  url: string
  localPort: number
  target: string
}

export default class K8sForward extends PdsCommand<typeof K8sForward> {
  static override summary = 'Hold a kubectl port-forward to the PDS open and print its URL, until Ctrl-C'
  static override description = `Starts kubectl port-forward (--address 127.0.0.1, a free local port) to the Service or Pod named by --kube-*, prints the URL (with --export, shell lines to eval), and keeps it open for other tools and later pdsctl calls until Ctrl-C or SIGTERM, then stops kubectl and exits 0. If the forward drops (the pod restarted) it is re-established once; if that fails it exits 7.
The admin password is never printed.
JSON: {url, localPort, target}.`
  static override examples = [
    '<%= config.bin %> k8s forward --kube-namespace bluesky --kube-service bluesky',
    'eval "$(<%= config.bin %> k8s forward --kube-namespace bluesky --kube-service bluesky --export &)"',
  ]
  static override flags = {
    export: Flags.boolean({ description: 'Print `export PDS_URL=…` for a shell to eval.' }),
  }

  async run(): Promise<ForwardInfo> {
    const settings = await this.settings()
    if (!settings.kube) throw new UsageError(`${this.id?.replace(/:/g, ' ') ?? 'k8s forward'} needs --kube-service NAME or --kube-pod NAME (and usually --kube-namespace)`, { hint: 'Or a saved --context with a Kubernetes target' })
    if (this.flags.export && this.flags.json) throw new UsageError('--export and --json cannot be used together')
    const client = await this.client()
    const info: ForwardInfo = { url: client.url, localPort: Number(new URL(client.url).port), target: client.target.description }
    if (this.out.json) await this.out.printJson(info)
    else if (this.flags.export) await this.out.line(`export PDS_URL=${info.url}`)
    else await this.out.line(info.url)
    this.out.status(`Forwarding ${info.url} → ${info.target}. Press Ctrl-C to stop.`)
    this.exitCodeOnSignal = 0
    // Hold until a signal ends the process (the base command stops kubectl), or the
    // forward dies and cannot be brought back.
    for (;;) {
      await new Promise((r) => setTimeout(r, 500))
      if (client.target.alive?.() !== false) continue
      const recovered = (await client.target.recover?.()) ?? false
      if (!recovered) throw new KubeError(`the port-forward to ${info.target} dropped and could not be re-established`, { hint: 'Check the pod with `kubectl get pods`' })
      this.out.warn(`the port-forward dropped and was re-established at ${client.url}`)
      info.url = client.url
      if (this.flags.export) await this.out.line(`export PDS_URL=${info.url}`)
      else if (!this.out.json) await this.out.line(info.url)
    }
  }
}
