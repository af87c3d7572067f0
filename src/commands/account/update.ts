import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { updateAccount, type AccountUpdateResult } from '../../lib/admin/accountAdmin.js'
import { parseAccountRef, parseEmail, parseHandle } from '../../lib/pds/identifiers.js'

export default class AccountUpdate extends PdsCommand<typeof AccountUpdate> {
  static override summary = "Change an account's email and/or handle"
  static override description = `Calls com.atproto.admin.updateAccountEmail / updateAccountHandle. An admin handle change bypasses the reserved-handle list (length rules still apply) and updates the DID document.
A new email is unconfirmed: the user (or \`pdsctl email confirm\`) must confirm it again.
JSON: {did, handle, email, changed: ["email"|"handle"], emailNeedsConfirmation, dryRun}.`
  static override examples = ['<%= config.bin %> account update alice.example.com --email alice@new.example', '<%= config.bin %> account update did:plc:abc --handle alice2.pds.example.com']
  static override args = { account: Args.string({ description: 'The account: handle or DID.', required: true }) }
  static override flags = {
    email: Flags.string({ description: 'The new email address.' }),
    handle: Flags.string({ description: 'The new handle.' }),
    'dry-run': Flags.boolean({ description: 'Check everything, change nothing.' }),
  }

  async run(): Promise<AccountUpdateResult> {
    const ref = parseAccountRef(this.args.account)
    if (this.flags.email !== undefined) parseEmail(this.flags.email)
    if (this.flags.handle !== undefined) parseHandle(this.flags.handle)
    const res = await updateAccount(await this.client(), ref, { email: this.flags.email, handle: this.flags.handle, dryRun: this.flags['dry-run'] })
    if (this.out.json) await this.out.printJson(res)
    else await this.out.printFields([['did', res.did], ['handle', res.handle], ['email', res.email], ['changed', res.changed]])
    if (res.emailNeedsConfirmation) this.out.warn(`the new email ${res.email} is unconfirmed; confirm it with \`${this.config.bin} email confirm ${res.handle}\``)
    if (!res.changed.length) this.out.status('Nothing changed.')
    return res
  }
}
