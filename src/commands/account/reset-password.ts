import * as Flags from '../../base/flags.js'
import { AccountCommand, accountArg } from '../../base/account-command.js'
import { resetPassword, type PasswordResetResult } from '../../lib/admin/accountAdmin.js'
import { UsageError } from '../../lib/errors.js'

export default class AccountResetPassword extends AccountCommand<typeof AccountResetPassword> {
  static override summary = "Set a new password for an account (generated and shown once, or from stdin)"
  static override description = `Calls com.atproto.admin.updateAccountPassword. The generated password is printed once on stdout and never logged.
ACCOUNT may be - to read many from stdin (one per line): each gets its own generated password.
JSON: {did, handle, action, dryRun, password? (only when generated)}; with -: {results, ok, failed}.`
  static override examples = ['<%= config.bin %> account reset-password alice.example.com', "printf '%s' \"$NEW\" | <%= config.bin %> account reset-password alice.example.com --password-stdin --yes"]
  static override args = accountArg
  static override flags = {
    'password-stdin': Flags.boolean({ description: 'Read the new password from stdin instead of generating one.' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: 'Resolve and check the account, change nothing.' }),
  }

  async run() {
    if (this.args.account === '-' && this.flags['password-stdin']) {
      throw new UsageError('with - (accounts on stdin) each account gets a generated password', { hint: 'Drop --password-stdin, or name one account' })
    }
    const password = this.flags['password-stdin'] ? await this.readStdin('the new password') : undefined
    if (password === '') throw new UsageError('--password-stdin was given but stdin was empty')
    return this.forAccounts<PasswordResetResult>(this.args.account, (client, ref) => resetPassword(client, ref, { password, dryRun: this.flags['dry-run'] }), {
      columns: [
        { header: 'DID', value: (r) => r.did },
        { header: 'HANDLE', value: (r) => r.handle },
        { header: 'PASSWORD', value: (r) => r.password ?? (r.dryRun ? null : '(as given)') },
      ],
      confirm: (what) => `Reset the password of ${what}? Its sessions keep working until they expire`,
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      describe: (r) => (r.dryRun ? `Dry run: nothing changed for ${r.handle}.` : `New password set for ${r.handle}${r.password ? '; it is shown only this once' : ''}.`),
    })
  }
}
