import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { IdentityCommand, plcUrlFlag } from '../../base/identity-command.js'
import { CheckFailedError, PartialFailureError, UsageError } from '../../lib/errors.js'
import { parsePdsUrl } from '../../lib/pds/urls.js'
import type { AccountRef } from '../../lib/pds/identifiers.js'
import type { Column } from '../../lib/cli/output.js'
import type { HostedAccount, MoveResult, MoveSummary } from '../../lib/identity/moveHost.js'
import type { CheckSummary, IdentityReport } from '../../lib/identity/identityCheck.js'

/** The identity check that ends a move: the accounts it touched. */
export interface MoveCheck {
  summary: CheckSummary
  /** Accounts still with a problem after the move. */
  problems: Array<Pick<IdentityReport, 'did' | 'handle' | 'problems'>>
}

/** What run() returns (the rows stream to stdout and are not kept). */
export interface MoveHostResult {
  from: string
  to: string
  dryRun: boolean
  summary: MoveSummary
  check: MoveCheck | null
}

const COLUMNS: Column<MoveResult>[] = [
  { header: 'HANDLE', value: (r) => r.handle },
  { header: 'DID', value: (r) => r.did, optional: true },
  { header: 'ACTION', value: (r) => r.action, shrink: 'none' },
  { header: 'PLC', value: (r) => r.plc, shrink: 'none' },
  { header: 'HANDLE ON PDS', value: (r) => r.handleUpdate, shrink: 'none' },
  { header: 'CHANGES', value: (r) => [r.changes.map((c) => c.field === 'endpoint' || c.field === 'handle' ? `${c.field === 'endpoint' ? 'PDS' : 'handle'} ${c.from ?? 'none'} → ${c.to ?? 'none'}` : c.field).join('; '), r.error, ...r.warnings].filter(Boolean).join(' | ') || '-', shrink: 'wrap' },
]

export default class IdentityMoveHost extends IdentityCommand<typeof IdentityMoveHost> {
  static override summary = "Move every account's identity to the PDS's new hostname: PLC operations signed with the PDS's rotation key"
  static override description = `For each account of the PDS (or the ACCOUNT given, or - for handles/DIDs on stdin) whose DID document points at --from: a PLC operation, signed with the PDS's rotation key, that sets the atproto_pds endpoint to --to and renames a handle under --from's domain to the same name under --to's (alice.old.example → alice.new.example; --keep-handles leaves them); then the handle is changed on the PDS too (com.atproto.admin.updateAccountHandle, which also emits the #identity event relays follow; for an unchanged handle that call is only the event).
The rotation key is PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX from the environment, the env file (--env-file) or the Kubernetes Secret (--kube-secret, key plcRotationKey); never a flag. Accounts whose rotation keys do not include the PDS's are listed, not touched (only a key they list can move them); did:web accounts are listed (their did.json lives on their domain); accounts pointing at a third host are left alone.
Restart the PDS under the new hostname first (PDS_HOSTNAME): when the PDS still serves handles under --from's domain and not --to's, it refuses to start. --dry-run prints every operation and changes nothing; otherwise it asks first (or --yes). Resumable: each account is planned from its current PLC data, so a second run skips what is done and finishes what a cut-short run left.
It ends with the identity check of every account it changed (endpoint, handle through the PDS, rotation key, signing key). Exit 5 when an account pointing at --from is not (fully) moved, 6 when the final check finds a problem.
JSON: {from, to, dryRun, accounts: [{did, handle, action, newHandle, changes, operation, plc, handleUpdate, error, warnings}], summary: {accounts, moved, alreadyMoved, notOnOldHost, notMoved, failed, byAction}, check: {summary, problems: [{did, handle, problems}]} | null}.`
  static override examples = [
    '<%= config.bin %> identity move-host --from https://old.example.com --to https://pds.example.com --env-file /pds/pds.env --dry-run',
    '<%= config.bin %> identity move-host --from https://old.example.com --to https://pds.example.com --env-file /pds/pds.env --yes',
    '<%= config.bin %> identity check --problem endpoint --output did | <%= config.bin %> identity move-host - --from https://old.example.com --to https://pds.example.com --yes',
  ]
  static override args = { account: Args.string({ description: 'Only this account (handle or DID), or - to read many from stdin (one per line); default: every account.' }) }
  static override flags = {
    from: Flags.string({ description: 'The old public URL (https://old.example.com).', required: true }),
    to: Flags.string({ description: 'The new public URL (https://pds.example.com).', required: true }),
    'keep-handles': Flags.boolean({ description: 'Do not rename handles under the old hostname.' }),
    'dry-run': Flags.boolean({ description: 'Print every operation; sign and change nothing.' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask (required when not on a terminal).' }),
    concurrency: Flags.integer({ description: 'Accounts moved at once (1-16).', min: 1, max: 16, default: 4 }),
    'plc-url': plcUrlFlag,
  }

  async run(): Promise<MoveHostResult> {
    const from = parsePdsUrl(this.flags.from, { what: '--from URL', readOnly: true })
    const to = parsePdsUrl(this.flags.to, { what: '--to URL', readOnly: true })
    if (from === to) throw new UsageError('--from and --to are the same URL')
    const arg = this.args.account
    let refs: AccountRef[] | undefined
    const { parseAccountRef } = await import('../../lib/pds/identifiers.js')
    if (arg !== undefined && arg !== '-') refs = [parseAccountRef(arg)]
    if (arg === '-') {
      if (this.flags['admin-password-stdin']) throw new UsageError('--admin-password-stdin cannot be used with - (stdin already carries the accounts)', { hint: 'Give the admin password with PDS_ADMIN_PASSWORD, --env-file or --kube-secret' })
      const { parseBatchLines } = await import('../../lib/admin/batch.js')
      refs = parseBatchLines(await this.readStdin('the accounts')).map((line) => parseAccountRef(line))
    }
    await this.plcUrl()
    const signer = await this.rotationSigner()
    const dryRun = Boolean(this.flags['dry-run'])
    if (!dryRun) {
      await this.confirmOrYes(`Sign PLC operations moving ${refs ? `${refs.length} account${refs.length === 1 ? '' : 's'}` : "every account of this PDS"} from ${from} to ${to}?`, this.flags.yes)
    }
    const pds = await this.client()
    const concurrency = this.flags.concurrency
    const plc = await this.plcDirectory(concurrency)
    await this.checkPdsMoved(from, to)

    const lib = await import('../../lib/identity/moveHost.js')
    const { mapInOrder, checkIdentity, accountOnPds, CheckTally } = await import('../../lib/identity/identityCheck.js')
    const ctx = { pds, plc, from, to, signer, keepHandles: this.flags['keep-handles'], dryRun }
    const tally = new lib.MoveTally()
    const touched: string[] = []
    const source = refs ? this.givenAccounts(refs) : this.allAccounts()
    const results = mapInOrder(source, concurrency, (a: HostedAccount) => lib.moveAccount(ctx, a))
    let check: MoveCheck | null = null
    const finalCheck = async (): Promise<MoveCheck> => {
      const checkCtx = await this.identityContext({ concurrency, publicUrl: to, pdsRotationKey: { didKey: signer.did(), source: 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX', inferred: false } })
      const t = new CheckTally()
      const problems: MoveCheck['problems'] = []
      this.out.status(`Checking the ${touched.length} account${touched.length === 1 ? '' : 's'} moved…`)
      const chunks = (async function* () {
        for (let i = 0; i < touched.length; i += 100) yield touched.slice(i, i + 100)
      })()
      for await (const r of mapInOrder(chunks, concurrency, async (did) => checkIdentity(checkCtx, await accountOnPds(pds, did)))) {
        t.add(r)
        if (r.problems.length) problems.push({ did: r.did, handle: r.handle, problems: r.problems })
      }
      return { summary: t.summary(), problems }
    }
    const pages = (async function* () {
      let page: MoveResult[] = []
      for await (const r of results) {
        tally.add(r)
        if (!dryRun && (r.plc === 'done' || r.handleUpdate === 'done')) touched.push(r.did)
        page.push(r)
        if (page.length >= 50) {
          yield page
          page = []
        }
      }
      if (page.length) yield page
      if (touched.length) check = await finalCheck()
    })()
    if (this.out.json) await this.out.printJsonReport({ from, to, dryRun }, 'accounts', pages, () => ({ summary: tally.summary(), check }))
    else await this.out.printRows(pages, COLUMNS)
    const summary = tally.summary()
    const done = check as MoveCheck | null
    if (!this.out.json) this.report(summary, done, dryRun, from)
    if (summary.notMoved > 0) {
      throw new PartialFailureError(`${summary.notMoved} account${summary.notMoved === 1 ? '' : 's'} pointing at ${from} ${summary.notMoved === 1 ? 'was' : 'were'} not ${dryRun ? 'movable' : 'moved'} (${Object.entries(summary.byAction).filter(([a]) => !['move', 'handle', 'already-moved', 'not-on-old-host'].includes(a)).map(([a, n]) => `${a} ${n}`).concat(summary.failed ? [`failed ${summary.failed}`] : []).join(', ')})`, {
        hint: 'See each row: fix what it says and run the same command again (accounts already moved are skipped)',
      })
    }
    if (done && done.problems.length) throw new CheckFailedError(`${done.problems.length} moved account${done.problems.length === 1 ? ' has' : 's have'} an identity problem: ${Object.entries(done.summary.problems).map(([id, n]) => `${id} ${n}`).join(', ')}`)
    return { from, to, dryRun, summary, check: done }
  }

  /** The PDS must already serve the new hostname's handles when handles are to be renamed. */
  private async checkPdsMoved(from: string, to: string): Promise<void> {
    const pds = await this.client()
    const res = await pds.call({ method: 'GET', path: '/xrpc/com.atproto.server.describeServer', name: 'com.atproto.server.describeServer', requires: ['did', 'availableUserDomains'] })
    const body = res.body as { did: unknown; availableUserDomains: unknown }
    const domains = Array.isArray(body.availableUserDomains) ? body.availableUserDomains.filter((d): d is string => typeof d === 'string') : []
    const fromHost = new URL(from).hostname
    const toHost = new URL(to).hostname
    if (!this.flags['keep-handles'] && domains.includes(`.${fromHost}`) && !domains.includes(`.${toHost}`)) {
      throw new UsageError(`the PDS still serves handles under .${fromHost} and not under .${toHost}: it has not been restarted under ${toHost}`, {
        hint: `Set PDS_HOSTNAME=${toHost} (and PDS_SERVICE_HANDLE_DOMAINS if you set it), restart the PDS, then run move-host again; or pass --keep-handles`,
      })
    }
    if (typeof body.did === 'string' && body.did.startsWith('did:web:') && body.did !== `did:web:${toHost}`) {
      this.out.warn(`the PDS calls itself ${body.did}, not did:web:${toHost}: has it been restarted with PDS_HOSTNAME=${toHost}?`)
    }
  }

  /** Every account (listRepos + admin.getAccountInfos, paged). */
  private async *allAccounts(): AsyncGenerator<HostedAccount[]> {
    const { listAccounts } = await import('../../lib/admin/accounts.js')
    for await (const page of listAccounts(await this.client())) yield page.map((a) => ({ did: a.did, handle: a.handle, status: a.status }))
  }

  /** The accounts named: each resolved, its handle and status read from the PDS. */
  private async *givenAccounts(refs: AccountRef[]): AsyncGenerator<HostedAccount[]> {
    const pds = await this.client()
    const [{ resolveDid, getAccountInfos }, { accountOnPds }] = await Promise.all([import('../../lib/admin/accounts.js'), import('../../lib/identity/identityCheck.js')])
    for (let i = 0; i < refs.length; i += 100) {
      const dids = [...new Set(await Promise.all(refs.slice(i, i + 100).map((r) => resolveDid(pds, r, { admin: true }))))]
      const infos = await getAccountInfos(pds, dids)
      const page: HostedAccount[] = []
      for (const did of dids) {
        const on = await accountOnPds(pds, did)
        if (!on.hosted) throw new UsageError(`${did} is not an account of this PDS`, { hint: '`pdsctl account list` shows them all' })
        page.push({ did, handle: infos.get(did)?.handle ?? null, status: on.active ? 'active' : (on.status ?? 'inactive') })
      }
      yield page
    }
  }

  private report(s: MoveSummary, check: MoveCheck | null, dryRun: boolean, from: string): void {
    const parts = [`${s.accounts} account${s.accounts === 1 ? '' : 's'}`, `${s.moved} ${dryRun ? 'to move' : 'moved'}`, `${s.alreadyMoved} already moved`, `${s.notOnOldHost} not on ${from}`]
    if (s.notMoved) parts.push(`${s.notMoved} not ${dryRun ? 'movable' : 'moved'}`)
    this.out.status(parts.join(', ') + (dryRun ? ' (dry run: nothing was signed or changed)' : ''))
    if (check) {
      this.out.status(`Identity check of the moved accounts: ${check.summary.ok} of ${check.summary.checked} without a problem`)
      for (const p of check.problems) this.out.status(`  ${p.handle ?? p.did}: ${p.problems.map((x) => `${x.id}: ${x.message}`).join('; ')}`)
    }
    if (!dryRun && s.moved) this.out.status(`Next: tell the relays where the PDS is now: ${this.config.bin} request-crawl`)
  }
}
