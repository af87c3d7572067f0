import * as Flags from '../../base/flags.js'
import { IdentityCommand, plcUrlFlag, publicUrlFlag } from '../../base/identity-command.js'
import { CheckFailedError, UsageError } from '../../lib/errors.js'
import type { Column } from '../../lib/cli/output.js'
import { PROBLEM_IDS, type CheckSummary, type IdentityReport, type PdsRotationKey } from '../../lib/identity/identityCheck.js'

/** What run() returns (the rows stream to stdout and are not kept). */
export interface IdentityCheckResult {
  summary: CheckSummary
  pdsRotationKey: PdsRotationKey | null
}

const ROW_COLUMNS: Column<IdentityReport>[] = [
  { header: 'RESULT', value: (r) => (r.problems.length ? 'fail' : r.warnings.length ? 'warn' : 'pass'), shrink: 'none' },
  { header: 'HANDLE', value: (r) => r.handle },
  { header: 'DID', value: (r) => r.did, optional: true },
  { header: 'STATUS', value: (r) => r.status, shrink: 'none' },
  { header: 'PROBLEMS', value: (r) => r.problems.map((p) => p.id).join(',') || '-' },
  { header: 'WARNINGS', value: (r) => r.warnings.map((w) => w.id).join(',') || '-' },
]

/** What each problem means and what to do, for the summary (the per-account fixes are in --json and identity show). */
const PROBLEM_WORDS: Record<string, string> = {
  'did-document': 'no usable DID document (unknown to the directory, or tombstoned)',
  endpoint: 'the DID document points at another PDS. Fix: after a hostname change, pdsctl identity move-host --from OLD --to NEW',
  handle: 'the handle does not resolve back to the DID. Fix: pdsctl account update DID --handle HANDLE (or fix the custom domain\'s DNS)',
  'rotation-key': "this PDS's rotation key is not among the rotation keys: it can no longer change these identities. Fix: restore the PDS's old key, or the user adds it back with their own",
  'signing-key': "the signing key does not verify the latest commit: relays reject the account's new posts. Fix: a rotation key holder restores the PDS's signing key for it",
  'plc-log': "the directory's log does not check out. Fix: check --plc-url",
}

export default class IdentityCheck extends IdentityCommand<typeof IdentityCheck> {
  static override summary = "Check every account's identity: DID document, handle, rotation key, signing key"
  static override description = `The checks of \`identity show\` for every account on the PDS (sync.listRepos, paged), streamed: memory stays flat however many accounts there are. Requests to the PLC directory are bounded (--concurrency, 4 in flight) and a 429 pauses them all for its Retry-After. The latest commit is the one listRepos names (its head); its block comes from com.atproto.sync.getBlocks.
Rows are printed for accounts with a problem or a warning (--all: every account), in listRepos order; a summary by problem follows on stderr. --problem NAME keeps the accounts with that problem; --output did prints just their DIDs, one a line, for piping. Exits 6 when any account has a problem.
Run it after a reinstall, a restore, a migration, a key rotation or a hostname change. Needs no admin password.
JSON: {plcUrl, publicUrl, pdsRotationKey, accounts: [the identity show report of each, without the log], summary: {checked, ok, withProblems, withWarnings, problems: {ID: N}, warnings: {ID: N}}}.`
  static override examples = [
    '<%= config.bin %> identity check --env-file /pds/pds.env',
    '<%= config.bin %> identity check --problem endpoint --output did',
    '<%= config.bin %> identity check --json | jq \'.summary\'',
  ]
  static override flags = {
    'plc-url': plcUrlFlag,
    'public-url': publicUrlFlag,
    problem: Flags.string({ description: 'Only accounts with this problem.', options: [...PROBLEM_IDS] }),
    all: Flags.boolean({ description: 'A row for every account, also those with nothing to report.' }),
    output: Flags.string({ description: 'Print only the DIDs of the accounts with a problem (or --problem), one a line.', options: ['did'], exclusive: ['json'] }),
    public: Flags.boolean({ description: 'Also resolve handles through public DNS TXT and HTTPS.' }),
    'dns-server': Flags.string({ description: 'With --public: a DNS server HOST:PORT to ask (env PDSCTL_DNS_SERVER).' }),
    concurrency: Flags.integer({ description: 'Requests to the PLC directory in flight (1-16).', min: 1, max: 16, default: 4 }),
  }

  async run(): Promise<IdentityCheckResult> {
    const dns = this.flags['dns-server'] ?? process.env.PDSCTL_DNS_SERVER
    if (dns !== undefined && !/^[\w.:[\]-]+(:\d{1,5})?$/.test(dns)) throw new UsageError(`--dns-server "${dns}" is not HOST or HOST:PORT`)
    await this.publicUrl()
    await this.plcUrl()
    const concurrency = this.flags.concurrency
    const ctx = await this.identityContext({ concurrency, public: this.flags.public, dnsServer: dns })
    const [{ checkIdentity, mapInOrder, CheckTally }, { listRepoPages }] = await Promise.all([import('../../lib/identity/identityCheck.js'), import('../../lib/admin/accounts.js')])
    const tally = new CheckTally()
    const wanted = this.flags.problem
    const keep = (r: IdentityReport) => (wanted ? r.problems.some((p) => p.id === wanted) : this.flags.output === 'did' ? r.problems.length > 0 : this.flags.all || r.problems.length > 0 || r.warnings.length > 0)
    const tty = process.stderr.isTTY
    // Accounts in flight: one and a half times the directory's pool, so the PDS's requests
    // overlap the directory's. Not twice (until 2026-12): every account in flight is alive at
    // each young-generation collection, and what survives them grows V8's young generation
    // (10,000 accounts, --concurrency 4: 8 in flight ~70 KB surviving each collection, at the
    // edge of V8 doubling its 8 MiB semi-spaces; 6 in flight ~58 KB). With the directory slower
    // than the PDS (plc.directory, a PDS nearby), 2 accounts at the PDS keep up with 4 at it.
    // Pages of 10, not listRepos' 100: a page lives until its last account is checked, and one
    // of 100 outlived several young-generation collections, each copying it (V8 grows the young
    // generation by what survives them; measured at 10,000 accounts: ~131 KB surviving each, 112
    // with pages of 20; after the client's cuts, 72 with pages of 25 and 69 with pages of 10).
    const reports = mapInOrder(listRepoPages(ctx.pds, { pageSize: 10 }), concurrency + Math.ceil(concurrency / 2), (repo) => checkIdentity(ctx, { did: repo.did, head: repo.head, active: repo.active, status: repo.status }))
    const out = this.out
    const pages = (async function* () {
      let page: IdentityReport[] = []
      for await (const r of reports) {
        tally.add(r)
        if (tty && tally.checked % 1000 === 0) out.status(`… ${tally.checked} accounts checked`)
        if (keep(r)) page.push(r)
        if (page.length >= 50) {
          yield page
          page = []
        }
      }
      if (page.length) yield page
    })()
    const head = { plcUrl: ctx.plc.url, publicUrl: ctx.publicUrl, pdsRotationKey: ctx.pdsRotationKey ?? null }
    if (this.flags.output === 'did') {
      for await (const page of pages) await this.out.write(page.map((r) => r.did).join('\n') + '\n')
    } else if (this.out.json) await this.out.printJsonReport(head, 'accounts', pages, () => ({ summary: tally.summary() }))
    else await this.out.printRows(pages, ROW_COLUMNS)
    const summary = tally.summary()
    if (!this.out.json) this.report(summary)
    if (summary.withProblems > 0) {
      throw new CheckFailedError(`${summary.withProblems} of ${summary.checked} account${summary.checked === 1 ? '' : 's'} ha${summary.withProblems === 1 ? 's' : 've'} an identity problem: ${Object.entries(summary.problems).map(([id, n]) => `${id} ${n}`).join(', ')}`)
    }
    return { summary, pdsRotationKey: ctx.pdsRotationKey ?? null }
  }

  /** The summary by problem, on stderr. */
  private report(s: CheckSummary): void {
    if (s.checked === 0) {
      this.out.status(`no accounts on this PDS yet: ${this.config.bin} account create --handle HANDLE --email EMAIL`)
      return
    }
    this.out.status(`${s.checked} account${s.checked === 1 ? '' : 's'} checked: ${s.ok} without a problem, ${s.withProblems} with, ${s.withWarnings} with a warning`)
    for (const [id, n] of Object.entries(s.problems)) this.out.status(`  ${id}: ${n} — ${PROBLEM_WORDS[id] ?? id}`)
    for (const [id, n] of Object.entries(s.warnings)) this.out.status(`  warning ${id}: ${n}`)
    if (s.withProblems) this.out.status(`Each account's problems and fixes: ${this.config.bin} identity show ACCOUNT (or --json)`)
  }
}
