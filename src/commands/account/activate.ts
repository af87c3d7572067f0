import { AccountCommand, accountArg, destructiveFlags } from '../../base/account-command.js'

export default class AccountActivate extends AccountCommand<typeof AccountActivate> {
  static override summary = 'Activate an account deactivated by an admin (or by its user)'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with deactivated.applied false.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun}; with -: {results: [{input, ok, result?, error?}], ok, failed}.`
  static override examples = ['<%= config.bin %> account activate alice.example.com', 'cat handles.txt | <%= config.bin %> account activate - --yes']
  static override args = accountArg
  static override flags = { ...destructiveFlags }

  async run() {
    return this.runAction(this.args.account, { kind: 'activate' }, {
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      confirm: (what) => `Activate ${what}?`,
      done: 'Activated',
    })
  }
}
