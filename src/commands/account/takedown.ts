import * as Flags from '../../base/flags.js'
import { AccountCommand, accountArg, destructiveFlags } from '../../base/account-command.js'

export default class AccountTakedown extends AccountCommand<typeof AccountTakedown> {
  static override summary = 'Take an account down (its repository stops being served; reversible)'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with takedown.applied true and an optional reference (a ticket or report id). Reverse with account untakedown.
ACCOUNT is a handle, a DID, or - to read many from stdin (one per line; exit 5 if some fail).
JSON: {did, handle, action, dryRun}; with -: {results: [{input, ok, result?, error?}], ok, failed}.`
  static override examples = ['<%= config.bin %> account takedown spam.example.com --ref ticket-123', 'cat spammers.txt | <%= config.bin %> account takedown - --yes']
  static override args = accountArg
  static override flags = { ...destructiveFlags, ref: Flags.string({ description: 'A reference stored with the takedown (ticket or report id).' }) }

  async run() {
    return this.runAction(this.args.account, { kind: 'takedown', ref: this.flags.ref }, {
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      confirm: (what) => `Take down ${what}?`,
      done: 'Took down',
    })
  }
}
