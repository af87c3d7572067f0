// The shape shared by verbs that act on accounts (and on their content: records, blobs,
// invite codes): ACCOUNT is a handle, a DID, or `-` for many from stdin (one per line);
// destructive verbs ask first on a terminal and need --yes otherwise (a "no" is exit 2,
// nothing changed); --dry-run resolves and checks each account and changes nothing.
import * as Args from './args.js'
import * as Flags from './flags.js'
import type { CommandClass } from './command.js'
import { PdsCommand } from './base-command.js'
import { CancelledError, PartialFailureError, PdsctlError, UsageError } from '../lib/errors.js'
import { parseAccountRef, type AccountRef } from '../lib/pds/identifiers.js'
import { parseBatchLines, streamBatch, type BatchResult } from '../lib/admin/batch.js'
import { forgetPrefetched, prefetchAccounts } from '../lib/admin/accounts.js'
import type { Column } from '../lib/cli/output.js'
import type { PdsClient } from '../lib/pds/xrpcClient.js'
import { applyAccountAction, type AccountAction, type AccountActionResult } from '../lib/admin/accountAdmin.js'

export const accountArg = {
  account: Args.string({ description: 'The account: handle, DID, or - to read many from stdin (one per line).', required: true }),
}

export const destructiveFlags = {
  yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
  'dry-run': Flags.boolean({ description: 'Resolve and check the account(s), change nothing.' }),
}

/** `--json` of a batch (`-`) run (streamed to stdout as the results come). */
export interface BatchOutput<T> {
  results: BatchResult<T>[]
  ok: number
  failed: number
}

/**
 * What run() returns for a batch: the counts only, so a batch of any size holds no rows;
 * `results` too for in-process callers that set PDSCTL_KEEP_ROWS=1.
 */
export type BatchSummary<T> = Omit<BatchOutput<T>, 'results'> & { results?: BatchResult<T>[] }

export const ACTION_COLUMNS: Column<AccountActionResult>[] = [
  { header: 'DID', value: (r) => r.did },
  { header: 'HANDLE', value: (r) => r.handle },
  { header: 'ACTION', value: (r) => r.action },
  { header: 'DRY RUN', value: (r) => r.dryRun },
]

export abstract class AccountCommand<T extends CommandClass> extends PdsCommand<T> {
  /**
   * `-` reads the accounts from stdin, so stdin cannot also carry the admin password:
   * refuse before reading anything (rather than failing every line, exit 5).
   */
  protected refuseStdinTwice(what: string): void {
    if ((this.flags as { 'admin-password-stdin'?: boolean })['admin-password-stdin']) {
      throw new UsageError(`--admin-password-stdin cannot be used with - (stdin already carries ${what})`, {
        hint: 'Give the admin password with PDS_ADMIN_PASSWORD, --env-file or --kube-secret, or name one account instead of -',
      })
    }
  }

  /**
   * Run `fn` for the account named by `arg`, or for each line of stdin when it is `-`.
   * One account: prints the result (JSON, or rows). Many: a row per line, a summary on
   * stderr, exit 5 when some failed.
   */
  protected async forAccounts<R extends object>(
    arg: string,
    fn: (client: PdsClient, ref: AccountRef) => Promise<R>,
    opts: { columns: Column<R>[]; confirm?: (what: string) => string; yes?: boolean; dryRun?: boolean; describe: (r: R) => string },
  ): Promise<R | BatchSummary<R>> {
    if (arg !== '-') {
      const ref = parseAccountRef(arg)
      if (opts.confirm && !opts.dryRun) await this.confirmOrYes(opts.confirm(arg), opts.yes)
      const client = await this.client()
      const result = await fn(client, ref)
      if (this.out.json) await this.out.printJson(result)
      else await this.out.printTable([result], opts.columns)
      this.out.status(opts.describe(result))
      return result
    }
    this.refuseStdinTwice('the accounts')
    const items = parseBatchLines(await this.readStdin('the accounts (one per line)'))
    // Malformed lines fail on their own line; the rest are checked in bulk per window.
    const refs = (window: string[]) => window.flatMap((item) => {
      try {
        return [parseAccountRef(item)]
      } catch {
        return []
      }
    })
    if (opts.confirm && !opts.dryRun) await this.confirmOrYes(opts.confirm(`${items.length} accounts`), opts.yes)
    const client = await this.client()
    const keep = process.env.PDSCTL_KEEP_ROWS === '1' ? ([] as BatchResult<R>[]) : undefined
    let ok = 0
    let failed = 0
    // Existence and handle → DID for a whole window first (one getAccountInfos per 100),
    // then the writes 8 in flight; results stream out in input order.
    const results = (async function* () {
      for await (const r of streamBatch(items, (item) => fn(client, parseAccountRef(item)), {
        concurrency: 8,
        prepare: (window) => prefetchAccounts(client, refs(window)),
        release: () => forgetPrefetched(client),
      })) {
        if (r.ok) ok++
        else failed++
        keep?.push(r)
        yield r
      }
    })()
    if (this.out.json) await this.printBatchJson(results, () => ({ ok, failed }))
    else {
      const chunks = (async function* () {
        for await (const r of results) yield [r]
      })()
      await this.out.printRows(chunks, [
        { header: 'INPUT', value: (r) => r.input },
        { header: 'RESULT', value: (r) => (r.ok ? 'ok' : 'failed') },
        ...opts.columns.map((c) => ({ header: c.header, value: (r: BatchResult<R>) => (r.result ? c.value(r.result) : null) })),
        { header: 'ERROR', value: (r) => r.error ?? null },
      ])
    }
    this.out.status(`${ok} ok, ${failed} failed`)
    if (failed) throw new PartialFailureError(`${failed} of ${items.length} failed`)
    return keep ? { results: keep, ok, failed } : { ok, failed }
  }

  /**
   * The batch JSON document ({"results": [...], "ok": N, "failed": M}, laid out as
   * JSON.stringify(…, null, 2) would), written as the results come, never held whole.
   * Nothing is written before the first result (an early error leaves stdout to the JSON
   * error object); a failure after it still closes the document, with the counts so far.
   */
  private async printBatchJson<R>(results: AsyncIterable<BatchResult<R>>, counts: () => { ok: number; failed: number }): Promise<void> {
    let n = 0
    let chunk = ''
    const close = async () => {
      const { ok, failed } = counts()
      await this.out.write(`${n ? chunk : '{\n  "results": ['}${n ? '\n  ]' : ']'},\n  "ok": ${ok},\n  "failed": ${failed}\n}\n`)
      this.out.wroteDocument = true
    }
    try {
      for await (const r of results) {
        chunk += (n++ ? ',\n    ' : '{\n  "results": [\n    ') + JSON.stringify(r, null, 2).replace(/\n/g, '\n    ')
        if (chunk.length > 16_384) {
          await this.out.write(chunk)
          this.out.wroteDocument = true
          chunk = ''
        }
      }
    } catch (err) {
      if (n > 0) await close()
      throw err
    }
    await close()
  }

  /** The simple verbs: one updateSubjectStatus / deleteAccount / invites call per account. */
  protected runAction(
    arg: string,
    action: AccountAction,
    opts: { yes?: boolean; dryRun?: boolean; confirm?: (what: string) => string; done: string },
  ): Promise<AccountActionResult | BatchSummary<AccountActionResult>> {
    return this.forAccounts(arg, (client, ref) => applyAccountAction(client, ref, action, { dryRun: opts.dryRun }), {
      columns: ACTION_COLUMNS,
      confirm: opts.confirm,
      yes: opts.yes,
      dryRun: opts.dryRun,
      describe: (r) => (r.dryRun ? `Dry run: ${r.handle ?? r.did} (${r.did}) exists; nothing changed (${r.action}).` : `${opts.done} ${r.handle ?? r.did} (${r.did}).`),
    })
  }
}
