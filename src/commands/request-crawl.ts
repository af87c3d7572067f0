import * as Flags from '@oclif/core/flags'
import { PdsCommand } from '../base/base-command.js'
import { NetworkError, PartialFailureError, UsageError } from '../lib/errors.js'
import { DEFAULT_RELAY, parseHostname, parseRelayUrl, requestCrawl, type CrawlResult } from '../lib/federation/relays.js'

export default class RequestCrawl extends PdsCommand<typeof RequestCrawl> {
  static override summary = 'Ask relays to crawl this PDS'
  static override description = `POSTs {hostname} to RELAY/xrpc/com.atproto.sync.requestCrawl for each relay: the ones named, else PDS_CRAWLERS (environment or env file), else ${DEFAULT_RELAY}.
The hostname is --hostname, else PDS_HOSTNAME (environment or env file), else the host of the PDS URL. No credential of any kind is sent to a relay.
Exits 5 when some relays failed, 1 when all did. JSON: an array of {relay, hostname, ok, error}.`
  static override examples = ['<%= config.bin %> request-crawl --env-file /pds/pds.env', '<%= config.bin %> request-crawl https://bsky.network https://relay.example.com --hostname pds.example.com']
  static override strict = false
  static override flags = {
    hostname: Flags.string({ description: 'The PDS hostname to announce (default PDS_HOSTNAME, else the URL host).' }),
  }

  async run(): Promise<CrawlResult[]> {
    const relayUrls = this.positionals.map(parseRelayUrl)
    const explicitHost = this.flags.hostname === undefined ? undefined : parseHostname(this.flags.hostname)
    const settings = await this.settings()
    const hostname = explicitHost ?? (settings.hostname ? parseHostname(settings.hostname) : undefined)
    if (!hostname) throw new UsageError('no PDS hostname', { hint: 'Pass --hostname, set PDS_HOSTNAME, or --env-file /pds/pds.env' })
    const relays = relayUrls.length ? relayUrls : settings.crawlers.length ? settings.crawlers.map(parseRelayUrl) : [DEFAULT_RELAY]
    const clients = await Promise.all(relays.map((r) => this.anonymousClient(r, 'the relay')))
    const results = await requestCrawl(clients, hostname)
    if (this.out.json) await this.out.printJson(results)
    else {
      await this.out.printTable(results, [
        { header: 'RELAY', value: (r) => r.relay },
        { header: 'RESULT', value: (r) => (r.ok ? 'requested' : 'failed') },
        { header: 'ERROR', value: (r) => r.error },
      ])
    }
    const failed = results.filter((r) => !r.ok)
    if (failed.length === results.length) throw new NetworkError(`no relay accepted the crawl request for ${hostname}: ${failed[0].error}`)
    if (failed.length) throw new PartialFailureError(`${failed.length} of ${results.length} relays failed`)
    this.out.status(`Asked ${results.length} relay${results.length === 1 ? '' : 's'} to crawl ${hostname}.`)
    return results
  }
}
