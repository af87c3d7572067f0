import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { CheckFailedError } from '../../lib/errors.js'
import type { Column } from '../../lib/cli/output.js'
import { AllRelaysFailedError, DEFAULT_RELAY, pickRelays } from '../../lib/federation/relays.js'
import {
  ACCOUNT_STATES,
  PROBLEM_STATES,
  RELAY_ACCOUNTS_DEFAULTS,
  isProblem,
  relayAccounts,
  stateFix,
  type AccountRelayRow,
  type AccountState,
  type RelayAccountView,
  type RelayTally,
} from '../../lib/federation/relayAccounts.js'

/** `pdsctl relay accounts --json`, once streamed (`accounts` holds only what was asked for). */
export interface RelayAccountsReport {
  accounts: AccountRelayRow[]
  relays: RelayTally[]
  /** Accounts on the PDS (listed and checked). */
  total: number
}

/** What the run returns: the counts; the rows are streamed, not kept. */
export interface RelayAccountsResult {
  relays: RelayTally[]
  total: number
  /** Accounts printed (those matching --problem, or every one with --all). */
  shown: number
}

const SHORT_FIX: Partial<Record<AccountState, string>> = {
  behind: 'relay status; request-crawl',
  ahead: 'a new post; else the relay operator',
  throttled: 'host limit: see relay status',
  unknown: 'request-crawl, then a post',
  inactive: "the relay's operator",
  error: 'try again later',
}

type Line = { row: AccountRelayRow; view: RelayAccountView }

export default class RelayAccounts extends PdsCommand<typeof RelayAccounts> {
  static override summary = 'Every account of this PDS as each relay sees it: in sync, behind, throttled, unknown, inactive'
  static override description = `For every account (com.atproto.sync.listRepos, paged: memory stays flat), each relay's com.atproto.sync.getRepoStatus beside the PDS's own status and rev (listRepos gives the same rev as getLatestCommit). Revs are TIDs and are compared as such.
States (stable names, text and JSON): in-sync; behind (the relay's rev is older, for a commit older than --grace); ahead (the relay has a newer rev than the PDS: the repo here was restored); throttled (the relay's per-host account limit); unknown (RepoNotFound); inactive (taken down, suspended, desynchronized… at the relay); error (the relay did not answer for it); inactive-here (not active on this PDS: not judged).
Relays: --relay, else PDS_CRAWLERS, else ${DEFAULT_RELAY}; no credential is sent to any. Each relay gets at most --concurrency requests at once; a 429 pauses that relay for its Retry-After; a relay that fails as many requests in a row as it is given at once (--concurrency, 3 to 10) is not asked again (its remaining accounts are error); one relay failing never hides the others.
Prints the accounts with a problem (one line per account and relay, with the fix), then a summary by state on stderr; --problem NAME keeps those states, --all prints every account, --output did prints DIDs only (for a request to a relay's operator, or a bulk verb).
Exits 6 when an account active here is not active and in sync at a relay, 1 when no relay answered at all.
JSON: {accounts: [{did, pds: {active, status, rev}, relays: [{relay, state, active, status, rev, error}]}], relays: [{relay, counts: {STATE: n}, stopped}], total}; accounts streams and holds those matching --problem (default: any problem), or all with --all.`
  static override examples = [
    '<%= config.bin %> relay accounts --env-file /pds/pds.env',
    '<%= config.bin %> relay accounts --relay https://bsky.network --problem throttled --output did > throttled.txt',
    "<%= config.bin %> relay accounts --json | jq '.relays[] | {relay, counts}'",
  ]
  static override flags = {
    relay: Flags.string({ description: 'A relay URL (repeatable; default PDS_CRAWLERS, else https://bsky.network).', multiple: true }),
    problem: Flags.string({ description: 'Only accounts in this state at some relay (repeatable).', options: [...PROBLEM_STATES], multiple: true, exclusive: ['all'] }),
    all: Flags.boolean({ description: 'Print every account, in sync or not.', exclusive: ['problem'] }),
    output: Flags.string({ description: 'Print only the DIDs, one per line (no header, also on a terminal).', options: ['did'], exclusive: ['json'] }),
    concurrency: Flags.integer({ description: `getRepoStatus requests in flight per relay [default: ${RELAY_ACCOUNTS_DEFAULTS.concurrency}].`, min: 1, max: 32 }),
    grace: Flags.integer({ description: 'Seconds a relay may lag behind a new commit before the account counts as behind [default: 60].', min: 0, max: 86_400 }),
  }

  async run(): Promise<RelayAccountsResult> {
    const settings = await this.settings()
    const relays = pickRelays(this.flags.relay, settings.crawlers)
    const wanted = new Set<AccountState>(this.flags.all ? ACCOUNT_STATES : ((this.flags.problem as AccountState[] | undefined) ?? PROBLEM_STATES))
    const pds = await this.client()
    const clients = await Promise.all(relays.map((r) => this.anonymousClient(r, 'the relay')))
    this.out.status(`Checking every account of ${pds.url} at ${relays.length === 1 ? relays[0] : `${relays.length} relays`}…`)
    const run = relayAccounts(pds, clients, {
      concurrency: this.flags.concurrency,
      graceMs: this.flags.grace === undefined ? undefined : this.flags.grace * 1000,
      signal: this.interruption.signal,
      onPause: (relay, ms) => this.out.status(`${relay} asked pdsctl to slow down (429): pausing it for ${(ms / 1000).toFixed(1)} s`),
      onStop: (relay, why) => this.out.warn(`stopped asking ${relay}: ${why}`),
    })

    let total = 0
    let shown = 0
    let activeHere = 0
    /** Accounts active here with a problem at some relay. */
    let failing = 0
    const answered = clients.map(() => false)
    const firstError: Array<string | null> = clients.map(() => null)
    const matches = (row: AccountRelayRow) => row.relays.some((v) => wanted.has(v.state))
    const bin = this.config.bin
    const pages = (async function* () {
      for await (const rows of run.rows) {
        total += rows.length
        for (const row of rows) {
          row.relays.forEach((v, k) => {
            if (v.error === null) answered[k] = true
            else firstError[k] ??= v.error
          })
          if (row.pds.active) {
            activeHere++
            if (row.relays.some((v) => isProblem(v.state))) failing++
          }
        }
        const kept = rows.filter(matches)
        shown += kept.length
        yield kept
      }
    })()

    if (this.flags.output === 'did') {
      for await (const rows of pages) if (rows.length) await this.out.write(rows.map((r) => r.did).join('\n') + '\n')
    } else if (this.out.json) {
      await this.streamJson(pages, run.tallies, () => total)
    } else {
      const lines = (async function* () {
        for await (const rows of pages) yield rows.flatMap((row) => row.relays.filter((v) => wanted.has(v.state)).map((view): Line => ({ row, view })))
      })()
      const columns: Column<Line>[] = [
        { header: 'DID', value: (l) => l.row.did, shrink: 'none' },
        { header: 'RELAY', value: (l) => l.view.relay },
        { header: 'STATE', value: (l) => l.view.state, shrink: 'none' },
        { header: 'RELAY STATUS', value: (l) => l.view.status },
        { header: 'RELAY REV', value: (l) => l.view.rev, optional: true },
        { header: 'PDS REV', value: (l) => l.row.pds.rev, optional: true },
        { header: 'FIX', value: (l) => (l.view.error ? `${SHORT_FIX[l.view.state] ?? ''} (${l.view.error})` : (SHORT_FIX[l.view.state] ?? (l.view.state === 'inactive-here' ? (l.row.pds.status ?? 'inactive') : null))), shrink: 'wrap' },
      ]
      await this.out.printRows(lines, columns)
    }

    // The summary, on stderr: one line per relay with the stable state names, then each problem's fix.
    for (const t of run.tallies) {
      const parts = ACCOUNT_STATES.filter((s) => t.counts[s] > 0).map((s) => `${t.counts[s]} ${s}`)
      this.out.status(`${t.relay}: ${total} account${total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`)
    }
    const present = PROBLEM_STATES.filter((s) => run.tallies.some((t) => t.counts[s] > 0))
    for (const s of present) {
      const n = Math.max(...run.tallies.map((t) => t.counts[s]))
      this.out.status(`${s} (${n}${run.tallies.length > 1 ? ' at most, at one relay' : ''}): ${stateFix(s, bin)}.`)
    }
    if (present.includes('throttled') && this.flags.output !== 'did') {
      const relayFlag = run.tallies.length > 1 ? ` --relay ${run.tallies.find((t) => t.counts.throttled > 0)!.relay}` : ''
      this.out.status(`The throttled accounts' DIDs, for the request: \`${bin} relay accounts${relayFlag} --problem throttled --output did\`.`)
    }
    if (total === 0) this.out.status(`no accounts on this PDS yet: nothing to check`)
    else if (!this.out.json && this.flags.output !== 'did' && shown === 0 && !failing) this.out.status(`Every account active here is in sync at ${relays.length === 1 ? 'the relay' : 'every relay'}.`)

    if (total > 0 && answered.every((a) => !a)) {
      const why = clients.map((c, k) => (clients.length > 1 ? `${c.url}: ${firstError[k]}` : firstError[k])).join('; ')
      throw new AllRelaysFailedError(`no relay answered getRepoStatus: ${why}`, { hint: 'Check the relay URL (PDS_CRAWLERS / --relay) and try again later' })
    }
    if (failing) {
      throw new CheckFailedError(`${failing} of ${activeHere} active account${activeHere === 1 ? ' is' : 's are'} not active and in sync at ${relays.length === 1 ? 'the relay' : 'every relay'}`)
    }
    return { relays: run.tallies, total, shown }
  }

  /** {accounts: [...streamed...], relays, total}: one JSON document even when the run fails midway. */
  private async streamJson(pages: AsyncIterable<AccountRelayRow[]>, tallies: RelayTally[], total: () => number): Promise<void> {
    let started = false
    let n = 0
    const start = async () => {
      if (started) return
      started = true
      await this.out.write('{\n  "accounts": [')
      this.out.wroteDocument = true
    }
    try {
      for await (const rows of pages) {
        await start()
        if (!rows.length) continue
        let chunk = ''
        for (const row of rows) chunk += (n++ === 0 ? '\n    ' : ',\n    ') + JSON.stringify(row)
        await this.out.write(chunk)
      }
    } catch (err) {
      // A failure after the document began: close it (a partial list; the error is on stderr).
      if (started) await this.out.write(`${n ? '\n  ' : ''}],\n  "relays": ${JSON.stringify(tallies)},\n  "total": ${total()},\n  "incomplete": true\n}\n`)
      throw err
    }
    await start()
    await this.out.write(`${n ? '\n  ' : ''}],\n  "relays": ${indent(tallies)},\n  "total": ${total()}\n}\n`)
  }
}

function indent(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(/\n/g, '\n  ')
}
