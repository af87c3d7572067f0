import { AccountCommand, accountArg, destructiveFlags } from '../../base/account-command.js'

export default class AccountDeactivate extends AccountCommand<typeof AccountDeactivate> {
  static override summary = 'Deactivate an account (admin deactivation; reversible with account activate)'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with deactivated.applied true: the repository stops being served and the user cannot use the account until it is activated again.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun}; with -: {results: [{input, ok, result?, error?}], ok, failed}.`
  static override examples = ['<%= config.bin %> account deactivate alice.example.com', 'cat handles.txt | <%= config.bin %> account deactivate - --yes']
  static override args = accountArg
  static override flags = { ...destructiveFlags }

  async run() {
    return this.runAction(this.args.account, { kind: 'deactivate' }, {
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      confirm: (what) => `Deactivate ${what}?`,
      done: 'Deactivated',
    })
  }
}
