import * as Flags from '../../base/flags.js'
// AccountCommand: its confirmation turns a "no" into exit 2 (cancelled), as for the account verbs.
import { AccountCommand } from '../../base/account-command.js'
import { UsageError } from '../../lib/errors.js'
import { disableInvites, ensureInvitesExist } from '../../lib/admin/invites.js'
import { parseBatchLines } from '../../lib/admin/batch.js'

/** `pdsctl invite disable --json`. */
export interface InviteDisableResult {
  codes: string[]
  forAccount: string | null
  dryRun: boolean
}

export default class InviteDisable extends AccountCommand<typeof InviteDisable> {
  static override summary = 'Disable invite codes, by code'
  static override description = `Calls com.atproto.admin.disableInviteCodes. CODE… may be - to read codes from stdin (one per line). Asks first on a terminal; needs --yes otherwise.
Every code must exist (the PDS ignores unknown codes silently): an unknown one is exit 4, naming it, and nothing is disabled.
To stop an account from inviting (its codes and new ones): \`account invites disable ACCOUNT\` (the old \`--for ACCOUNT\` here points there).
JSON: {codes, forAccount (always null), dryRun}.`
  static override examples = ['<%= config.bin %> invite disable pds-example-com-abcde-fghij --yes', '<%= config.bin %> invite list --available | cut -f1 | <%= config.bin %> invite disable - --yes']
  static override strict = false
  static override flags = {
    // Moved to `account invites disable` (one home per concept); kept only to point there.
    for: Flags.string({ description: 'Moved: use `account invites disable ACCOUNT`.', hidden: true }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: 'Show what would be disabled, change nothing.' }),
  }

  async run(): Promise<InviteDisableResult> {
    if (this.flags.for !== undefined) {
      const account = /^[\w.:-]+$/.test(this.flags.for) ? this.flags.for : 'ACCOUNT'
      throw new UsageError('invite disable --for moved to account invites disable', {
        hint: `Run ${this.config.bin} account invites disable ${account}: it disables the codes the account holds and stops new ones`,
      })
    }
    let codes = [...this.positionals]
    if (codes.includes('-')) codes = [...codes.filter((c) => c !== '-'), ...parseBatchLines(await this.readStdin('invite codes'))]
    for (const c of codes) if (!/^[A-Za-z0-9][A-Za-z0-9-]{3,}$/.test(c)) throw new UsageError(`"${c}" does not look like an invite code`)
    if (!codes.length) throw new UsageError('name the codes to disable', { hint: `e.g. ${this.config.bin} invite disable CODE --yes; for every code of an account: ${this.config.bin} account invites disable ACCOUNT` })
    const client = await this.client()
    // The PDS ignores unknown codes without a word: never report them disabled.
    await ensureInvitesExist(client, codes)
    const result: InviteDisableResult = { codes, forAccount: null, dryRun: Boolean(this.flags['dry-run']) }
    const what = `${codes.length} invite code${codes.length === 1 ? '' : 's'}`
    if (!this.flags['dry-run']) {
      await this.confirmOrYes(`Disable ${what}?`, this.flags.yes)
      await disableInvites(client, { codes })
    }
    if (this.out.json) await this.out.printJson(result)
    else if (codes.length) await this.out.tsvRows(codes.map((c) => [c]))
    this.out.status(this.flags['dry-run'] ? `Dry run: would disable ${what}.` : `Disabled ${what}.`)
    return result
  }
}
