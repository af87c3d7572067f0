import { AccountCommand, accountArg, destructiveFlags } from '../../base/account-command.js'

export default class AccountUntakedown extends AccountCommand<typeof AccountUntakedown> {
  static override summary = 'Reverse a takedown'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with takedown.applied false.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun}; with -: {results: [{input, ok, result?, error?}], ok, failed}.`
  static override examples = ['<%= config.bin %> account untakedown alice.example.com', 'cat handles.txt | <%= config.bin %> account untakedown - --yes']
  static override args = accountArg
  static override flags = { ...destructiveFlags }

  async run() {
    return this.runAction(this.args.account, { kind: 'untakedown' }, {
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      confirm: (what) => `Reverse the takedown of ${what}?`,
      done: 'Reversed the takedown of',
    })
  }
}
