import * as Flags from '../base/flags.js'
import { PdsCommand } from '../base/base-command.js'
import { PartialFailureError, UsageError } from '../lib/errors.js'
import { AllRelaysFailedError, DEFAULT_RELAY, parseHostname, pickRelays, requestCrawl, type CrawlResult } from '../lib/federation/relays.js'

export default class RequestCrawl extends PdsCommand<typeof RequestCrawl> {
  static override summary = 'Ask relays to crawl this PDS (retried with backoff)'
  static override description = `POSTs {hostname} to RELAY/xrpc/com.atproto.sync.requestCrawl for each relay: the ones named (as arguments or --relay), else PDS_CRAWLERS (environment or env file), else ${DEFAULT_RELAY}.
The hostname is --hostname, else PDS_HOSTNAME (environment or env file), else the host of the PDS URL. No credential of any kind is sent to a relay.
Each relay is retried on a connection failure, a timeout, a 5xx or a 429 with exponential backoff (1 s, 2 s, 4 s…; a 429's Retry-After is honoured), at most --attempts times and --max-time seconds; other errors (HostBanned, InvalidRequest) are final.
Exits 5 when some relays failed, 1 when all did. JSON: an array of {relay, hostname, ok, attempts, error?, xrpcError?}.`
  static override examples = [
    '<%= config.bin %> request-crawl --env-file /pds/pds.env',
    '<%= config.bin %> request-crawl https://bsky.network https://relay.example.com --hostname pds.example.com',
  ]
  static override strict = false
  static override flags = {
    hostname: Flags.string({ description: 'The PDS hostname to announce (default PDS_HOSTNAME, else the URL host).' }),
    relay: Flags.string({ description: 'A relay URL (repeatable; same as naming it as an argument).', multiple: true }),
    attempts: Flags.integer({ description: 'Requests per relay at most, the first included.', default: 4, min: 1, max: 10 }),
    'max-time': Flags.integer({ description: 'Seconds to keep retrying one relay.', default: 60, min: 1, max: 600 }),
  }

  async run(): Promise<CrawlResult[]> {
    const named = [...this.positionals, ...(this.flags.relay ?? [])]
    const explicitHost = this.flags.hostname === undefined ? undefined : parseHostname(this.flags.hostname)
    const settings = await this.settings()
    const relays = pickRelays(named, settings.crawlers)
    const hostname = explicitHost ?? (settings.hostname ? parseHostname(settings.hostname) : undefined)
    if (!hostname) throw new UsageError('no PDS hostname', { hint: 'Pass --hostname, set PDS_HOSTNAME, or --env-file /pds/pds.env' })
    const clients = await Promise.all(relays.map((r) => this.anonymousClient(r, 'the relay')))
    const results = await requestCrawl(clients, hostname, {
      attempts: this.flags.attempts,
      maxTimeMs: this.flags['max-time'] * 1000,
      onRetry: (relay, n, ms, why) => this.out.status(`${relay}: attempt ${n} failed (${why}); retrying in ${(ms / 1000).toFixed(1)} s…`),
    })
    if (this.out.json) await this.out.printJson(results)
    else {
      await this.out.printTable(results, [
        { header: 'RELAY', value: (r) => r.relay },
        { header: 'RESULT', value: (r) => (r.ok ? 'requested' : 'failed') },
        { header: 'ATTEMPTS', value: (r) => r.attempts },
        { header: 'ERROR', value: (r) => r.error ?? null },
      ])
    }
    for (const r of results) {
      if (r.xrpcError === 'HostBanned') this.out.status(`${r.relay} has banned ${hostname}: only the relay's operator can lift that.`)
    }
    const failed = results.filter((r) => !r.ok)
    if (failed.length === results.length) throw new AllRelaysFailedError(`no relay accepted the crawl request for ${hostname}: ${failed[0].error}`)
    if (failed.length) throw new PartialFailureError(`${failed.length} of ${results.length} relays failed`)
    this.out.status(`Asked ${results.length} relay${results.length === 1 ? '' : 's'} to crawl ${hostname}.`)
    return results
  }
}
