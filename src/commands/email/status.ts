import * as Args from '../../base/args.js'
import { PdsCommand } from '../../base/base-command.js'
import { emailStatus, type EmailStatus } from '../../lib/admin/email.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'

export default class EmailStatusCommand extends PdsCommand<typeof EmailStatusCommand> {
  static override summary = "Show an account's email address and when it was confirmed"
  static override examples = ['<%= config.bin %> email status alice.example.com', '<%= config.bin %> email status did:plc:abc123 --json']
  static override args = {
    account: Args.string({ description: 'The account: handle or DID.', required: true }),
  }

  async run(): Promise<EmailStatus> {
    const ref = parseAccountRef(this.args.account)
    const client = await this.client()
    const status = await emailStatus(client, ref)
    if (this.out.json) await this.out.printJson(status)
    else {
      await this.out.printFields([
        ['handle', status.handle],
        ['did', status.did],
        ['email', status.email],
        ['confirmed', status.emailConfirmed],
        ['confirmed at', status.emailConfirmedAt],
      ])
    }
    return status
  }
}
