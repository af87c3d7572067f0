import * as Flags from '../../../base/flags.js'
import { ACTION_COLUMNS, AccountCommand, accountArg } from '../../../base/account-command.js'
import { applyAccountAction, type AccountActionResult } from '../../../lib/admin/accountAdmin.js'
import { disableInvites } from '../../../lib/admin/invites.js'

/** `pdsctl account invites disable --json` (one account). */
export interface InvitesDisabledResult extends AccountActionResult {
  /** Whether the codes the account already holds were disabled too (not with --keep-codes). */
  codesDisabled: boolean
}

// The one home for "this account may not invite anyone": `invite disable --for` pointed
// here. The PDS has two calls for it and each alone is half the job:
// admin.disableAccountInvites only stops new codes (the ones it holds keep working), and
// admin.disableInviteCodes {accounts} only disables the codes it holds.
export default class AccountInvitesDisable extends AccountCommand<typeof AccountInvitesDisable> {
  static override summary = 'Stop an account from inviting: no new invite codes, and the codes it holds stop working'
  static override description = `Calls com.atproto.admin.disableAccountInvites (no new codes), then com.atproto.admin.disableInviteCodes with the account (the codes it already holds; --keep-codes skips this). \`account invites enable\` lets it get new codes again; disabled codes stay disabled.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun, codesDisabled}; with -: {results, ok, failed}.`
  static override examples = ['<%= config.bin %> account invites disable alice.example.com', '<%= config.bin %> account invites disable alice.example.com --keep-codes --note "ticket 42"']
  static override args = accountArg
  static override flags = {
    note: Flags.string({ description: 'A note stored with the change.' }),
    'keep-codes': Flags.boolean({ description: 'Leave the codes the account already holds working; only stop new ones.' }),
    'dry-run': Flags.boolean({ description: 'Resolve and check the account(s), change nothing.' }),
    // Accepted like on every other account verb, so scripts can pass it everywhere; this verb does not ask.
    yes: Flags.boolean({ char: 'y', description: 'Accepted for scripts (this verb does not ask for confirmation).' }),
  }

  async run() {
    const dryRun = this.flags['dry-run']
    const keepCodes = this.flags['keep-codes']
    return this.forAccounts(
      this.args.account,
      async (client, ref): Promise<InvitesDisabledResult> => {
        const res = await applyAccountAction(client, ref, { kind: 'invites', enabled: false, note: this.flags.note }, { dryRun })
        if (!dryRun && !keepCodes) await disableInvites(client, { accounts: [res.did] })
        return { ...res, codesDisabled: !dryRun && !keepCodes }
      },
      {
        columns: [...ACTION_COLUMNS, { header: 'CODES DISABLED', value: (r) => r.codesDisabled }],
        dryRun,
        describe: (r) =>
          r.dryRun
            ? `Dry run: ${r.handle ?? r.did} (${r.did}) exists; nothing changed (${r.action}).`
            : `Disabled invites for ${r.handle ?? r.did} (${r.did})${r.codesDisabled ? ', and the codes it holds' : '; the codes it holds still work (--keep-codes)'}.`,
      },
    )
  }
}
