import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { resolveDid } from '../../lib/admin/accounts.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'
import { accountSyncReport, AllRelaysFailedError, DEFAULT_RELAY, pickRelays, type AccountSyncReport } from '../../lib/federation/relays.js'

export default class RelayAccount extends PdsCommand<typeof RelayAccount> {
  static override summary = 'Whether each relay is behind this PDS for one account'
  static override description = `Compares the PDS's com.atproto.sync.getLatestCommit rev for ACCOUNT with each relay's com.atproto.sync.getRepoStatus (active, status, rev). Revs are TIDs and are compared as such: sync is in-sync, behind (with behindMs, the gap between the two revs' clocks), ahead, or unknown (no rev to compare).
Relays: --relay, else PDS_CRAWLERS, else ${DEFAULT_RELAY}. A relay that fails is reported in its row; exits 1 only when every relay failed, 4 when the PDS does not host the account. No credential is sent to any relay.
JSON: {did, pds: {rev, cid, error}, relays: [{relay, ok, known, active, status, rev, sync, behindMs, error}]}.`
  static override examples = ['<%= config.bin %> relay account alice.pds.example.com --env-file /pds/pds.env', '<%= config.bin %> relay account did:plc:abc… --relay https://bsky.network --json']
  static override args = { account: Args.string({ description: 'The account: handle or DID.', required: true }) }
  static override flags = {
    relay: Flags.string({ description: 'A relay URL (repeatable; default PDS_CRAWLERS, else https://bsky.network).', multiple: true }),
  }

  async run(): Promise<AccountSyncReport> {
    const ref = parseAccountRef(this.args.account)
    const settings = await this.settings()
    const relays = pickRelays(this.flags.relay, settings.crawlers)
    const pds = await this.client()
    const did = await resolveDid(pds, ref)
    const clients = await Promise.all(relays.map((r) => this.anonymousClient(r, 'the relay')))
    const report = await accountSyncReport(pds, clients, did)
    if (this.out.json) await this.out.printJson(report)
    else {
      await this.out.printTable(report.relays, [
        { header: 'RELAY', value: (r) => r.relay },
        { header: 'SYNC', value: (r) => (r.ok ? (r.known ? r.sync : 'unknown repo') : 'failed') },
        { header: 'ACTIVE', value: (r) => r.active },
        { header: 'STATUS', value: (r) => r.status },
        { header: 'RELAY REV', value: (r) => r.rev },
        { header: 'PDS REV', value: () => report.pds.rev },
        { header: 'BEHIND', value: (r) => (r.behindMs === null ? null : formatGap(r.behindMs)) },
        { header: 'ERROR', value: (r) => r.error },
      ])
    }
    if (report.pds.error) this.out.warn(`the PDS has no current commit for ${did}: ${report.pds.error}`)
    for (const r of report.relays) {
      if (!r.ok) continue
      if (!r.known) this.out.status(`${r.relay} does not know ${did}. Fix: \`${this.config.bin} request-crawl --relay ${r.relay}\`, then make a post so the account's commit reaches it.`)
      else if (r.sync === 'behind') this.out.status(`${r.relay} is behind for ${did} (rev ${r.rev} < ${report.pds.rev}). Fix: check \`${this.config.bin} relay status\`; an idle/offline host needs \`${this.config.bin} request-crawl\`.`)
      else if (r.active === false) this.out.status(`${r.relay} has ${did} as inactive (${r.status ?? 'no reason given'}).`)
    }
    if (report.relays.every((r) => !r.ok)) throw new AllRelaysFailedError(`no relay answered getRepoStatus for ${did}: ${report.relays[0].error}`)
    return report
  }
}

function formatGap(ms: number): string {
  if (ms < 1000) return `${ms} ms`
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  return `${Math.round(s / 3600)} h`
}
