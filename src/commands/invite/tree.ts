import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { PartialFailureError, UsageError } from '../../lib/errors.js'
import type { PdsClient } from '../../lib/pds/xrpcClient.js'
import { buildInviteTree, descendants, disableSubtreeInvites, renderInviteTree, walkTree, type InviteDisableReport, type InviteTree } from '../../lib/admin/inviteTree.js'

export default class InviteTreeCommand extends PdsCommand<typeof InviteTreeCommand> {
  static override summary = 'Who invited whom: the invite tree, or one account\'s subtree; --disable shuts off invites for a whole subtree'
  static override description = `An account invited everyone who signed up with one of its codes (made for it, or by it: forAccount, createdBy, uses[].usedBy from admin.getInviteCodes). Codes from the admin's own pool form the "admin" root. Each account shows its handle, status and email confirmation (from the account listing).
Memory: this command holds the tree of invite relations (one entry per account that signed up with a code), not every account's data.
With ACCOUNT, only that account's subtree. --disable (needs ACCOUNT) disables the invites of everyone in the subtree, ACCOUNT included: admin.disableAccountInvites for each account, admin.disableInviteCodes for their codes with uses left; asks first (or --yes); --dry-run lists what would change. Success is reported only for what the PDS confirms when re-read (exit 5 otherwise).
Terminal: an indented tree. Piped: tab-separated rows (depth, did, handle, status, emailConfirmed, invitedBy, code), parent before children.
JSON: {roots: [node], admin: [node]}, node = {did, handle, status, emailConfirmed, code?, children: [node]}; with --disable: {account, dryRun, accounts: [{did, handle, alreadyDisabled, invitesDisabled}], codes: [{code, forAccount, disabled}], ok}.`
  static override examples = [
    '<%= config.bin %> invite tree',
    '<%= config.bin %> invite tree spammer.pds.example.com --json',
    '<%= config.bin %> invite tree spammer.pds.example.com --disable --dry-run',
    '<%= config.bin %> invite tree spammer.pds.example.com --disable --yes',
  ]
  static override args = {
    account: Args.string({ description: 'Only this account\'s subtree (handle or DID).' }),
  }
  static override flags = {
    disable: Flags.boolean({ description: 'Disable the invites of everyone in the subtree of ACCOUNT (ACCOUNT included).' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).', dependsOn: ['disable'] }),
    'dry-run': Flags.boolean({ description: 'With --disable: list what would change, change nothing.', dependsOn: ['disable'] }),
  }

  async run(): Promise<InviteTree | InviteDisableReport> {
    // identifiers.js (and @atproto/syntax, ~5 ms to load) only when an account is named.
    const ref = this.args.account ? (await import('../../lib/pds/identifiers.js')).parseAccountRef(this.args.account) : undefined
    if (this.flags.disable && !ref) throw new UsageError('--disable needs an ACCOUNT: the root of the subtree whose invites to disable', { hint: 'e.g. pdsctl invite tree spammer.example.com --disable --dry-run' })
    const client = await this.client()
    const { tree, rootDid, relations } = await buildInviteTree(client, { account: ref })
    if (this.flags.disable && rootDid) return this.disable(client, rootDid, [rootDid, ...descendants(relations, rootDid)])

    if (this.out.json) await this.out.printJson(tree)
    else if (this.out.mode === 'tsv') {
      const rows = [...walkTree(tree.roots), ...walkTree(tree.admin, 0, 'admin')]
      await this.out.tsvRows(rows.map(({ node: n, depth, parent }) => [depth, n.did, n.handle, n.status, n.emailConfirmed, parent, n.code]))
    } else {
      await this.out.printLines(renderInviteTree(tree))
    }
    const n = [...walkTree(tree.roots), ...walkTree(tree.admin)].length
    if (!this.out.json) this.out.status(n ? `${n} account${n === 1 ? '' : 's'} in the tree` : 'No account signed up with an invite code.')
    return tree
  }

  private async disable(client: PdsClient, rootDid: string, dids: string[]): Promise<InviteDisableReport> {
    const dryRun = Boolean(this.flags['dry-run'])
    if (!dryRun) await this.confirmOrYes(`Disable invites for ${dids.length} account${dids.length === 1 ? '' : 's'} (${this.args.account}'s subtree)?`, this.flags.yes)
    const report = await disableSubtreeInvites(client, rootDid, dids, { dryRun })
    if (this.out.json) await this.out.printJson(report)
    else {
      await this.out.printTable(report.accounts, [
        { header: 'DID', value: (a) => a.did },
        { header: 'HANDLE', value: (a) => a.handle },
        { header: 'INVITES DISABLED', value: (a) => a.invitesDisabled },
        { header: 'BEFORE', value: (a) => (a.alreadyDisabled ? 'disabled' : 'enabled') },
        { header: 'CODES', value: (a) => report.codes.filter((c) => c.forAccount === a.did).map((c) => c.code) },
      ])
    }
    const changing = report.accounts.filter((a) => !a.alreadyDisabled).length
    if (dryRun) this.out.status(`Dry run: would disable invites for ${changing} of ${report.accounts.length} accounts and ${report.codes.length} unused code${report.codes.length === 1 ? '' : 's'}; nothing changed.`)
    else if (report.ok) this.out.status(`Disabled invites for ${changing} account${changing === 1 ? '' : 's'} (${report.accounts.length - changing} already were) and ${report.codes.length} unused code${report.codes.length === 1 ? '' : 's'}; confirmed by the PDS.`)
    else {
      const bad = report.accounts.filter((a) => !a.invitesDisabled).length + report.codes.filter((c) => !c.disabled).length
      throw new PartialFailureError(`the PDS does not confirm ${bad} of the changes (re-read after disabling)`, { hint: 'Run again, or check with pdsctl account info' })
    }
    return report
  }
}
