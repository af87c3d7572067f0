import * as Flags from '../../../base/flags.js'
import { AccountCommand, accountArg } from '../../../base/account-command.js'

export default class AccountInvitesEnable extends AccountCommand<typeof AccountInvitesEnable> {
  static override summary = 'Enable invite codes for an account'
  static override description = `Calls com.atproto.admin.enableAccountInvites.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun}; with -: {results, ok, failed}.`
  static override examples = ['<%= config.bin %> account invites enable alice.example.com']
  static override args = accountArg
  static override flags = {
    note: Flags.string({ description: 'A note stored with the change.' }),
    'dry-run': Flags.boolean({ description: 'Resolve and check the account(s), change nothing.' }),
    // Accepted like on every other account verb, so scripts can pass it everywhere; this verb does not ask.
    yes: Flags.boolean({ char: 'y', description: 'Accepted for scripts (this verb does not ask for confirmation).' }),
  }

  async run() {
    return this.runAction(this.args.account, { kind: 'invites', enabled: true, note: this.flags.note }, {
      dryRun: this.flags['dry-run'],
      done: 'Enabled invites for',
    })
  }
}
