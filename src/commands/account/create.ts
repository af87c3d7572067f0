import * as Flags from '@oclif/core/flags'
import { PdsCommand } from '../../base/base-command.js'
import { createAccount, type CreatedAccount } from '../../lib/admin/accountAdmin.js'
import { UsageError } from '../../lib/errors.js'

export default class AccountCreate extends PdsCommand<typeof AccountCreate> {
  static override summary = 'Create an account (with a one-use invite when the PDS requires one)'
  static override description = `The password is generated and shown once (on stdout, never logged), or read with --password-stdin.
When describeServer says invite codes are required, a one-use code is created with the admin password and used at once.
Handles on the PDS's own domains need a first label of 3 to 18 characters; taken or reserved handles, and bad emails, are refused with the PDS's reason.
JSON: {did, handle, email, inviteCode, password? (only when generated)}.`
  static override examples = [
    '<%= config.bin %> account create --handle alice.pds.example.com --email alice@example.com',
    "printf '%s' \"$PW\" | <%= config.bin %> account create --handle bob.pds.example.com --email bob@example.com --password-stdin --json",
  ]
  static override flags = {
    handle: Flags.string({ description: 'The new handle.', required: true }),
    email: Flags.string({ description: 'The email address.', required: true }),
    'password-stdin': Flags.boolean({ description: 'Read the password from stdin instead of generating one.' }),
  }

  async run(): Promise<CreatedAccount> {
    const { parseEmail, parseHandle } = await import('../../lib/pds/identifiers.js')
    parseHandle(this.flags.handle)
    parseEmail(this.flags.email)
    const password = this.flags['password-stdin'] ? await this.readStdin('the new password') : undefined
    if (password === '') throw new UsageError('--password-stdin was given but stdin was empty')
    const created = await createAccount(await this.client(), { handle: this.flags.handle, email: this.flags.email, password })
    if (this.out.json) await this.out.printJson(created)
    else {
      await this.out.printFields([
        ['handle', created.handle],
        ['did', created.did],
        ['email', created.email],
        ['invite code', created.inviteCode],
        ...(created.password ? ([['password', created.password]] as Array<[string, unknown]>) : []),
      ])
    }
    if (created.password) this.out.status('The password above is shown only this once: pass it to the user now.')
    this.out.status(`Created ${created.handle}. Its email is unconfirmed until \`${this.config.bin} email confirm ${created.handle}\`.`)
    return created
  }
}
