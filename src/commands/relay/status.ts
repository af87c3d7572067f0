import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { UsageError } from '../../lib/errors.js'
import {
  AllRelaysFailedError,
  DEFAULT_RELAY,
  hostAdvice,
  hostStatusReport,
  parseHostname,
  pickRelays,
  type HostStatusReport,
} from '../../lib/federation/relays.js'
import type { PdsClient } from '../../lib/pds/xrpcClient.js'

export default class RelayStatus extends PdsCommand<typeof RelayStatus> {
  static override summary = 'What each relay knows of this PDS (getHostStatus), beside what the PDS has'
  static override description = `For each relay (--relay, else PDS_CRAWLERS from the environment or env file, else ${DEFAULT_RELAY}): com.atproto.sync.getHostStatus {hostname} (status active|idle|offline|throttled|banned, its seq, its account count), beside the PDS's own repo count (com.atproto.sync.listRepos, paged) and its latest firehose seq. The PDS publishes that seq only inside com.atproto.sync.subscribeRepos; pdsctl finds it by probing cursors there (the PDS answers a cursor past its latest with FutureCursor at once, replays from an earlier one at once, and is silent on the latest): about 2·log2(gap) short WebSocket connections, starting from the relays' seq. seqBehind is the PDS's seq minus the relay's.
Host limits: a relay keeps the accounts a host creates past its per-host limit as throttled (bsky.network: 100 by default). pdsctl asks each relay about the newest active account (getRepoStatus); when it is throttled, it bisects the accounts in creation order (about log2(accounts) requests) and says how many accounts the relay takes from this host, how many are throttled, and how to have the limit raised.
Desync: a relay whose seq for this host is past the PDS's latest seq (a recreated or restored database) ignores the PDS's new events; pdsctl names both numbers and the fix (relay fix-desync).
A relay that fails is reported in its row, not fatal: exits 0 when at least one relay answered, 1 when none did. No credential is sent to any relay.
JSON: {hostname, pds: {accounts, activeAccounts, seq, seqSource, error}, relays: [{relay, ok, known, status, accountCount, seq, seqBehind, accountLimit: {accounts, throttled, probes} | null, accountLimitError, error}]}.`
  static override examples = [
    '<%= config.bin %> relay status --env-file /pds/pds.env',
    '<%= config.bin %> relay status --relay https://bsky.network --relay https://relay.example.com --hostname pds.example.com --json',
  ]
  static override flags = {
    relay: Flags.string({ description: 'A relay URL (repeatable; default PDS_CRAWLERS, else https://bsky.network).', multiple: true }),
    hostname: Flags.string({ description: 'The PDS hostname (default PDS_HOSTNAME, else the URL host).' }),
    'no-pds': Flags.boolean({ description: 'Ask only the relays; do not count the PDS\'s repos.' }),
  }

  async run(): Promise<HostStatusReport> {
    const explicitHost = this.flags.hostname === undefined ? undefined : parseHostname(this.flags.hostname)
    const settings = await this.settings()
    const relays = pickRelays(this.flags.relay, settings.crawlers)
    const hostname = explicitHost ?? (settings.hostname ? parseHostname(settings.hostname) : undefined)
    if (!hostname) throw new UsageError('no PDS hostname', { hint: 'Pass --hostname, set PDS_HOSTNAME, or --env-file /pds/pds.env' })
    const pds: PdsClient | undefined = this.flags['no-pds'] || (!settings.url && !settings.kube) ? undefined : await this.client()
    const clients = await Promise.all(relays.map((r) => this.anonymousClient(r, 'the relay')))
    this.out.status(`Asking ${relays.length} relay${relays.length === 1 ? '' : 's'} about ${hostname}…`)
    const report = await hostStatusReport(pds, clients, hostname, { debug: this.debugLog, signal: this.interruption.signal })
    if (this.out.json) await this.out.printJson(report)
    else {
      await this.out.printTable(report.relays, [
        { header: 'RELAY', value: (r) => r.relay },
        { header: 'KNOWN', value: (r) => (r.ok ? r.known : null) },
        { header: 'STATUS', value: (r) => (r.ok ? (r.status ?? (r.known ? '(none)' : 'unknown host')) : 'failed') },
        { header: 'RELAY ACCOUNTS', value: (r) => r.accountCount },
        { header: 'PDS ACCOUNTS', value: () => report.pds.activeAccounts },
        { header: 'RELAY SEQ', value: (r) => r.seq },
        { header: 'PDS SEQ', value: () => report.pds.seq },
        { header: 'BEHIND', value: (r) => r.seqBehind },
        { header: 'LIMIT', value: (r) => r.accountLimit?.accounts ?? null },
        { header: 'THROTTLED', value: (r) => r.accountLimit?.throttled ?? null },
        { header: 'ERROR', value: (r) => r.error },
      ])
    }
    if (report.pds.error && pds) this.out.warn(`could not count the PDS's repos: ${report.pds.error}`)
    if (report.relays.every((r) => !r.ok)) {
      // One line: which relays, what each said, and what to check.
      const why = report.relays.map((r) => (report.relays.length > 1 ? `${r.relay}: ${r.error}` : r.error)).join('; ')
      throw new AllRelaysFailedError(`no relay answered getHostStatus for ${hostname}: ${why}`, {
        hint: 'Check the relay URL (PDS_CRAWLERS / --relay) and try again later',
      })
    }
    for (const r of report.relays) {
      for (const advice of hostAdvice(r, hostname, this.config.bin)) this.out.status(`${advice.problem}. Fix: ${advice.fix}.`)
    }
    return report
  }
}
