import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { PdsCommand } from '../../base/base-command.js'
import { UsageError } from '../../lib/errors.js'
import { DEFAULT_RELAY, parseHostname, parseRelayUrl, relayHostStatus, type RelayHostStatus } from '../../lib/federation/relays.js'

export default class RelayStatus extends PdsCommand<typeof RelayStatus> {
  static override summary = 'What a relay knows of this PDS (com.atproto.sync.getHostStatus)'
  static override description = `RELAY defaults to the first of PDS_CRAWLERS, else ${DEFAULT_RELAY}. No credential is sent to the relay.
JSON: {relay, hostname, known, status, accountCount, seq}.`
  static override examples = ['<%= config.bin %> relay status --env-file /pds/pds.env', '<%= config.bin %> relay status https://bsky.network --hostname pds.example.com --json']
  static override args = { relay: Args.string({ description: 'The relay URL.' }) }
  static override flags = { hostname: Flags.string({ description: 'The PDS hostname (default PDS_HOSTNAME, else the URL host).' }) }

  async run(): Promise<RelayHostStatus> {
    const relayArg = this.args.relay === undefined ? undefined : parseRelayUrl(this.args.relay)
    const explicitHost = this.flags.hostname === undefined ? undefined : parseHostname(this.flags.hostname)
    const settings = await this.settings()
    const hostname = explicitHost ?? (settings.hostname ? parseHostname(settings.hostname) : undefined)
    if (!hostname) throw new UsageError('no PDS hostname', { hint: 'Pass --hostname, set PDS_HOSTNAME, or --env-file /pds/pds.env' })
    const relay = relayArg ?? (settings.crawlers[0] ? parseRelayUrl(settings.crawlers[0]) : DEFAULT_RELAY)
    const status = await relayHostStatus(await this.anonymousClient(relay, 'the relay'), hostname)
    if (this.out.json) await this.out.printJson(status)
    else await this.out.printFields([['relay', status.relay], ['hostname', status.hostname], ['known', status.known], ['status', status.status], ['accounts', status.accountCount], ['seq', status.seq]])
    if (!status.known) this.out.status(`${relay} does not know ${hostname} yet; ask it with \`${this.config.bin} request-crawl ${relay}\`.`)
    return status
  }
}
