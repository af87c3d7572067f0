// The shape shared by verbs that act on accounts (and on their content: records, blobs,
// invite codes): ACCOUNT is a handle, a DID, or `-` for many from stdin (one per line);
// destructive verbs ask first on a terminal and need --yes otherwise (a "no" is exit 2,
// nothing changed); --dry-run resolves and checks each account and changes nothing.
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import type { Command } from '@oclif/core/command'
import { PdsCommand } from './base-command.js'
import { CancelledError, PartialFailureError, PdsctlError, UsageError } from '../lib/errors.js'
import { parseAccountRef, type AccountRef } from '../lib/pds/identifiers.js'
import { parseBatchLines, runBatch, type BatchResult } from '../lib/admin/batch.js'
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

/** `--json` of a batch (`-`) run. */
export interface BatchOutput<T> {
  results: BatchResult<T>[]
  ok: number
  failed: number
}

export const ACTION_COLUMNS: Column<AccountActionResult>[] = [
  { header: 'DID', value: (r) => r.did },
  { header: 'HANDLE', value: (r) => r.handle },
  { header: 'ACTION', value: (r) => r.action },
  { header: 'DRY RUN', value: (r) => r.dryRun },
]

export abstract class AccountCommand<T extends typeof Command> extends PdsCommand<T> {
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
  ): Promise<R | BatchOutput<R>> {
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
    if (opts.confirm && !opts.dryRun) await this.confirmOrYes(opts.confirm(`${items.length} accounts`), opts.yes)
    const client = await this.client()
    const results = await runBatch(items, (item) => fn(client, parseAccountRef(item)))
    const output: BatchOutput<R> = { results, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length }
    if (this.out.json) await this.out.printJson(output)
    else {
      await this.out.printTable(results, [
        { header: 'INPUT', value: (r) => r.input },
        { header: 'RESULT', value: (r) => (r.ok ? 'ok' : 'failed') },
        ...opts.columns.map((c) => ({ header: c.header, value: (r: BatchResult<R>) => (r.result ? c.value(r.result) : null) })),
        { header: 'ERROR', value: (r) => r.error ?? null },
      ])
    }
    this.out.status(`${output.ok} ok, ${output.failed} failed`)
    if (output.failed) throw new PartialFailureError(`${output.failed} of ${items.length} failed`)
    return output
  }

  /** The simple verbs: one updateSubjectStatus / deleteAccount / invites call per account. */
  protected runAction(
    arg: string,
    action: AccountAction,
    opts: { yes?: boolean; dryRun?: boolean; confirm?: (what: string) => string; done: string },
  ): Promise<AccountActionResult | BatchOutput<AccountActionResult>> {
    return this.forAccounts(arg, (client, ref) => applyAccountAction(client, ref, action, { dryRun: opts.dryRun }), {
      columns: ACTION_COLUMNS,
      confirm: opts.confirm,
      yes: opts.yes,
      dryRun: opts.dryRun,
      describe: (r) => (r.dryRun ? `Dry run: ${r.handle ?? r.did} (${r.did}) exists; nothing changed (${r.action}).` : `${opts.done} ${r.handle ?? r.did} (${r.did}).`),
    })
  }
}
