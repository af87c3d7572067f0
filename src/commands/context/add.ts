import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import { saveContext, summarizeContext, validateContextName, type ContextSummary } from '../../lib/cli/contexts.js'
import { UsageError } from '../../lib/errors.js'
import { resolveConnection, type SavedContext } from '../../lib/cli/settings.js'

export default class ContextAdd extends BaseCommand<typeof ContextAdd> {
  static override summary = 'Save a named context: where the PDS is and where its admin password comes from'
  static override description = `Stored as JSON in <config dir>/contexts.json (mode 0600). No secret is stored unless you pass --store-admin-password, which reads the password from stdin (or a hidden prompt).
The first context added becomes the current one; --use makes this one current. Use it with --context NAME (env PDSCTL_CONTEXT) on any command.
Precedence: flags, then the environment, then the env file, then the context, then defaults.`
  static override examples = [
    '<%= config.bin %> context add home --kube-namespace bluesky --kube-service bluesky --kube-secret bluesky',
    '<%= config.bin %> context add prod --url https://pds.example.com --env-file /pds/pds.env --use',
    "printf '%s' \"$PW\" | <%= config.bin %> context add lab --url https://lab.example.com --store-admin-password",
  ]
  static override args = { name: Args.string({ description: 'A name for the context.', required: true }) }
  static override flags = {
    url: Flags.string({ description: 'The PDS URL.' }),
    'env-file': Flags.string({ description: 'A pds.env to read settings and the admin password from.' }),
    'allow-insecure-http': Flags.boolean({ description: 'Allow plain http:// to a non-loopback host.' }),
    'kube-namespace': Flags.string({ description: 'Kubernetes namespace of the PDS.' }),
    'kube-service': Flags.string({ description: 'The Service that runs the PDS.' }),
    'kube-pod': Flags.string({ description: 'The Pod that runs the PDS.' }),
    'kube-port': Flags.integer({ description: 'The PDS port [default: 3000].' }),
    'kube-context': Flags.string({ description: 'The kubeconfig context.' }),
    kubectl: Flags.string({ description: 'Path to kubectl.' }),
    'kube-secret': Flags.string({ description: 'Read the admin password from this Secret: NAME[:KEY].' }),
    'admin-password-from': Flags.string({ description: 'Where the admin password comes from.', options: ['env-file', 'kube-secret', 'prompt', 'environment'] }),
    'store-admin-password': Flags.boolean({ description: 'Store the admin password in the context (read from stdin or a prompt).' }),
    use: Flags.boolean({ description: 'Make this the current context.' }),
    force: Flags.boolean({ description: 'Replace a context of the same name.' }),
  }

  async run(): Promise<ContextSummary> {
    const f = this.flags
    const name = validateContextName(this.args.name)
    if (!f.url && !f['kube-service'] && !f['kube-pod'] && !f['env-file']) {
      throw new UsageError('a context needs --url, --env-file, or --kube-service/--kube-pod')
    }
    // Validate exactly as a command would resolve these flags (URL rules, Kubernetes names).
    const resolved = await resolveConnection({ ...f, 'admin-password-stdin': false }, {})
    const ctx: SavedContext = {}
    if (f.url) ctx.url = resolved.url
    if (f['env-file']) ctx.envFile = (await import('node:path')).resolve(f['env-file'])
    if (f['allow-insecure-http']) ctx.allowInsecureHttp = true
    if (resolved.kube) ctx.kube = resolved.kube
    const from = f['admin-password-from'] ?? (f['kube-secret'] ? 'kube-secret' : undefined)
    if (f['store-admin-password']) {
      if (from) throw new UsageError('--store-admin-password cannot be combined with --admin-password-from or --kube-secret')
      const pw = process.stdin.isTTY
        ? await this.promptSecret('Admin password to store:', 'Pipe it on stdin with --store-admin-password')
        : await this.readStdin('the admin password')
      if (!pw) throw new UsageError('no admin password on stdin to store')
      ctx.adminPassword = { from: 'stored', value: pw }
    } else if (from === 'kube-secret') {
      if (!f['kube-secret']) throw new UsageError('--admin-password-from kube-secret needs --kube-secret NAME[:KEY]')
      const src = resolved.adminPassword
      if (src.kind === 'kube-secret') ctx.adminPassword = { from: 'kube-secret', secret: src.name, key: src.key }
    } else if (from === 'env-file') {
      if (!f['env-file']) throw new UsageError('--admin-password-from env-file needs --env-file')
      ctx.adminPassword = { from: 'env-file' }
    } else if (from === 'prompt') {
      ctx.adminPassword = { from: 'prompt' }
    }
    const file = await saveContext(this.config.configDir, name, ctx, { use: f.use, force: f.force })
    const summary = summarizeContext(name, ctx, file.current === name)
    if (this.out.json) await this.out.printJson(summary)
    else this.out.status(`Saved context "${name}" (${summary.target}; admin password: ${summary.adminPassword})${summary.current ? ', now current' : ''}.`)
    return summary
  }
}
