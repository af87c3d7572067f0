import { PdsCommand } from '../../base/base-command.js'
import { accountInfo, type AccountInfo } from '../../lib/admin/accountAdmin.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'
import * as Args from '../../base/args.js'

export default class AccountInfoCommand extends PdsCommand<typeof AccountInfoCommand> {
  static override summary = 'Everything the admin view knows about one account'
  static override description = `Combines com.atproto.admin.getAccountInfo, admin.getSubjectStatus and sync.getRepoStatus.
JSON: {did, handle, email, emailConfirmedAt, createdAt, invitedBy, invitesDisabled, invites: [{code, available, disabled, uses}], deactivatedAt, takendown, takedownRef, repoStatus, repoRev}.`
  static override examples = ['<%= config.bin %> account info alice.example.com', '<%= config.bin %> account info did:plc:abc123 --json']
  static override args = { account: Args.string({ description: 'The account: handle or DID.', required: true }) }

  async run(): Promise<AccountInfo> {
    const ref = parseAccountRef(this.args.account)
    const info = await accountInfo(await this.client(), ref)
    if (this.out.json) await this.out.printJson(info)
    else {
      await this.out.printFields([
        ['handle', info.handle],
        ['did', info.did],
        ['email', info.email],
        ['email confirmed at', info.emailConfirmedAt],
        ['created', info.createdAt],
        ['invited by', info.invitedBy],
        ['invites disabled', info.invitesDisabled],
        ['invites', info.invites.map((i) => `${i.code} (${i.available - i.uses} left${i.disabled ? ', disabled' : ''})`)],
        ['deactivated at', info.deactivatedAt],
        ['taken down', info.takendown],
        ['takedown ref', info.takedownRef],
        ['repo status', info.repoStatus],
        ['repo rev', info.repoRev],
      ])
    }
    return info
  }
}
