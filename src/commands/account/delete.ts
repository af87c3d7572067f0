import { AccountCommand, accountArg, destructiveFlags } from '../../base/account-command.js'

export default class AccountDelete extends AccountCommand<typeof AccountDelete> {
  static override summary = 'Delete an account and its repository (irreversible)'
  static override description = `Calls com.atproto.admin.deleteAccount. Asks first on a terminal; needs --yes otherwise.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun}; with -: {results: [{input, ok, result?, error?}], ok, failed}.`
  static override examples = ['<%= config.bin %> account delete alice.example.com', 'cat handles.txt | <%= config.bin %> account delete - --yes']
  static override args = accountArg
  static override flags = { ...destructiveFlags }

  async run() {
    return this.runAction(this.args.account, { kind: 'delete' }, {
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      confirm: (what) => `Delete ${what}?`,
      done: 'Deleted',
    })
  }
}
