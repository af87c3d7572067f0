import * as Flags from '../base/flags.js'
import { PdsCommand } from '../base/base-command.js'
import { runDoctor, type DoctorReport } from '../lib/selfhost/doctor.js'
import { UsageError } from '../lib/errors.js'
import { parsePdsUrl } from '../lib/pds/urls.js'
import { pickRelays } from '../lib/federation/relays.js'
import type { PdsClient } from '../lib/pds/xrpcClient.js'

export default class Doctor extends PdsCommand<typeof Doctor> {
  static override summary = 'Check a deployed PDS end to end: public URL, proxy traps, WebSockets, email, relays'
  static override description = `Each check passes, warns or fails, with the fix:
- the PDS answers at its public URL (and through the port-forward when --kube-* is given, with the same version);
- a body-less POST through the public URL reaches the PDS in a form it accepts (cloudflared re-frames it as chunked, which PDS 0.4.x rejects: email verification fails behind a Cloudflare tunnel); the probe is deleteSession with an expired token for no session, signed with PDS_JWT_SECRET from the env file or Secret (without it the check only warns);
- a WebSocket to com.atproto.sync.subscribeRepos opens through the public URL (relays need it), and a new event reaches it within seconds of a write: the write is com.atproto.admin.updateSubjectStatus for the first account with no change asked, which makes the PDS restate that account's status as an #account event and changes nothing (needs the admin password; without it the check warns);
- describeServer: invite codes, user domains, contact email;
- email: whether an SMTP server and from-address are configured (judged from the env file or the Secret; no mail is sent);
- the relays (PDS_CRAWLERS, else https://bsky.network) follow this host (com.atproto.sync.getHostStatus): an unknown, idle or offline host needs a requestCrawl, a banned or throttled one the relay's operator. Relays never get credentials;
- with an env file (or a Secret), the findings of \`pdsctl config check\`.
The public URL is --public-url, else https://$PDS_HOSTNAME, else --url. Exits 6 when a check fails.
JSON: {publicUrl, ok, checks: [{id, status: "pass"|"warn"|"fail", message, fix?}]}.`
  static override examples = [
    '<%= config.bin %> doctor --env-file /pds/pds.env',
    '<%= config.bin %> doctor --kube-namespace bluesky --kube-service bluesky --kube-secret bluesky --public-url https://pds.example.com',
    '<%= config.bin %> doctor --json | jq \'.checks[] | select(.status != "pass")\'',
  ]
  static override flags = {
    'public-url': Flags.string({ description: 'The URL users and relays reach the PDS at (default https://$PDS_HOSTNAME, else --url).' }),
    relay: Flags.string({ description: 'A relay to ask about this host (repeatable; default PDS_CRAWLERS, else https://bsky.network).', multiple: true }),
    'no-relays': Flags.boolean({ description: 'Skip the relay checks (no network beyond the PDS).' }),
  }

  async run(): Promise<DoctorReport> {
    const settings = await this.settings()
    const f = this.flags
    if (f.relay && f['no-relays']) throw new UsageError('--relay and --no-relays cannot be used together')
    const relays = f['no-relays'] ? [] : pickRelays(f.relay, settings.crawlers)
    let publicUrl: string | undefined
    if (f['public-url']) publicUrl = parsePdsUrl(f['public-url'], { what: 'public URL', readOnly: true })
    else if (settings.kube && settings.hostname) publicUrl = parsePdsUrl(`https://${settings.hostname}`, { what: 'public URL (from PDS_HOSTNAME)', readOnly: true })

    let publicClient: PdsClient
    let forwardClient: PdsClient | undefined
    if (settings.kube) {
      if (!publicUrl) throw new UsageError('with --kube-* the doctor needs the public URL too', { hint: 'Pass --public-url https://your.pds, or set PDS_HOSTNAME' })
      forwardClient = await this.client()
      publicClient = await this.anonymousClient(publicUrl, 'the PDS')
    } else if (publicUrl && publicUrl !== settings.url) {
      publicClient = await this.anonymousClient(publicUrl, 'the PDS')
    } else {
      publicClient = await this.client()
    }
    const hostname = settings.hostname ?? new URL(publicClient.url).hostname
    const emailConfig = await this.emailConfig()
    // The firehose check's test event needs the admin password: from a source that needs no prompt.
    const pw = settings.adminPassword
    const canAdmin = !settings.adminPasswordRefusal && pw.kind !== 'prompt'
    let adminClient: PdsClient | null = null
    if (canAdmin) adminClient = forwardClient ?? (settings.url ? await this.client() : null)
    this.out.status(`Checking ${publicClient.url}…`)
    const report = await runDoctor({
      publicClient,
      forwardClient,
      hostname,
      relays: await Promise.all(relays.map((r) => this.anonymousClient(r, 'the relay'))),
      emailConfig,
      jwtSecret: await this.jwtSecret(),
      adminClient,
      debug: this.flags.debug ? this.debugLog : undefined,
    })
    report.checks.push(...(await this.configChecks()))
    report.ok = !report.checks.some((c) => c.status === 'fail')
    return this.reportChecks(report, (ids) => `${ids.length} check${ids.length === 1 ? '' : 's'} failed: ${ids.join(', ')}`)
  }

  /** `pdsctl config check` on the env file, or on what the Secret holds (--kube-secret with --kube-*). */
  private async configChecks(): Promise<DoctorReport['checks']> {
    const settings = await this.settings()
    const lib = await import('../lib/selfhost/configCheck.js')
    if (settings.envFile) return lib.configChecksForDoctor(lib.checkConfig(lib.envSetFromMap(settings.envFile.values, settings.envFile.path), { source: settings.envFile.path }))
    const src = settings.adminPassword
    if (src.kind === 'kube-secret' && settings.kube) {
      const [{ readKubeSecretData }, { SECRET_KEYS }] = await Promise.all([import('../lib/k8s/secretData.js'), import('../lib/selfhost/secrets.js')])
      const k = settings.kube
      let data: Record<string, string>
      try {
        data = await readKubeSecretData({ name: src.name, namespace: k.namespace, context: k.context, kubectl: k.kubectl, env: process.env, onDebug: this.debugLog })
      } catch (err) {
        return [{ id: 'config', status: 'warn', message: `could not read Secret ${src.name} to check the configuration: ${err instanceof Error ? err.message : String(err)}`, fix: 'Check access to the Secret, or run `pdsctl config check --env-file`' }]
      }
      return lib.configChecksForDoctor(lib.checkConfig(lib.envSetFromSecret(src.name, data, SECRET_KEYS), { source: `Secret ${src.name}`, partial: true }))
    }
    return []
  }

  /** PDS_JWT_SECRET for the body-less POST probe: the env file, else the Secret (key jwtSecret). */
  private async jwtSecret(): Promise<string | undefined> {
    const settings = await this.settings()
    if (settings.envFile) return settings.envFile.values.PDS_JWT_SECRET || undefined
    const src = settings.adminPassword
    if (src.kind === 'kube-secret' && settings.kube) {
      return this.readSecretKey(src.name, 'jwtSecret').catch(() => undefined)
    }
    return undefined
  }

  /** Where the SMTP settings can be read from: the env file, else the Secret (--kube-secret). */
  private async emailConfig(): Promise<{ source: string; smtpUrl?: string; fromAddress?: string } | undefined> {
    const settings = await this.settings()
    if (settings.envFile) {
      const v = settings.envFile.values
      return { source: settings.envFile.path, smtpUrl: v.PDS_EMAIL_SMTP_URL || undefined, fromAddress: v.PDS_EMAIL_FROM_ADDRESS || undefined }
    }
    const src = settings.adminPassword
    if (src.kind === 'kube-secret' && settings.kube) {
      const read = (key: string) => this.readSecretKey(src.name, key).catch(() => undefined)
      return { source: `Secret ${src.name}`, smtpUrl: await read('smtpServer'), fromAddress: await read('smtpFromAddress') }
    }
    return undefined
  }
}
