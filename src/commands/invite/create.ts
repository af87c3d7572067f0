import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { resolveDid } from '../../lib/admin/accounts.js'
import { createInvites, type CreatedInvite } from '../../lib/admin/invites.js'

export default class InviteCreate extends PdsCommand<typeof InviteCreate> {
  static override summary = 'Create invite codes (all in one createInviteCodes call)'
  static override description = `Piped, prints one code per line; on a terminal, a table; --json, an array of {code, uses, forAccount}.`
  static override examples = [
    '<%= config.bin %> invite create',
    '<%= config.bin %> invite create --count 10 --uses 1 > codes.txt',
    '<%= config.bin %> invite create --for alice.example.com --json',
  ]
  static override flags = {
    count: Flags.integer({ description: 'How many codes to create.', default: 1, min: 1, max: 1000 }),
    uses: Flags.integer({ description: 'How many accounts each code can create.', default: 1, min: 1, max: 100000 }),
    for: Flags.string({ description: 'Create the codes for this account (handle or DID) instead of the admin pool.' }),
  }

  async run(): Promise<CreatedInvite[]> {
    // identifiers.js (and @atproto/syntax, ~5 ms to load) only when an account is named.
    const ref = this.flags.for ? (await import('../../lib/pds/identifiers.js')).parseAccountRef(this.flags.for) : undefined
    const client = await this.client()
    const forAccounts = ref ? [await resolveDid(client, ref, { admin: true })] : undefined
    const invites = await createInvites(client, { count: this.flags.count, uses: this.flags.uses, forAccounts })
    if (this.out.json) await this.out.printJson(invites)
    else if (this.out.mode === 'tsv') await this.out.tsvRows(invites.map((i) => [i.code]))
    else {
      await this.out.printTable(invites, [
        { header: 'CODE', value: (i) => i.code },
        { header: 'USES', value: (i) => i.uses },
        { header: 'FOR', value: (i) => i.forAccount ?? 'admin' },
      ])
    }
    return invites
  }
}
