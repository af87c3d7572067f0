import * as Flags from '@oclif/core/flags'
// AccountCommand: its confirmation turns a "no" into exit 2 (cancelled), as for the account verbs.
import { AccountCommand } from '../../base/account-command.js'
import { resolveDid } from '../../lib/admin/accounts.js'
import { UsageError } from '../../lib/errors.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'
import { disableInvites, ensureInvitesExist } from '../../lib/admin/invites.js'
import { parseBatchLines } from '../../lib/admin/batch.js'

/** `pdsctl invite disable --json`. */
export interface InviteDisableResult {
  codes: string[]
  forAccount: string | null
  dryRun: boolean
}

export default class InviteDisable extends AccountCommand<typeof InviteDisable> {
  static override summary = 'Disable invite codes, by code or all codes of an account'
  static override description = `Calls com.atproto.admin.disableInviteCodes. CODE… may be - to read codes from stdin (one per line). Asks first on a terminal; needs --yes otherwise.
Every code must exist (the PDS ignores unknown codes silently): an unknown one is exit 4, naming it, and nothing is disabled.
JSON: {codes, forAccount, dryRun}.`
  static override examples = ['<%= config.bin %> invite disable pds-example-com-abcde-fghij --yes', '<%= config.bin %> invite disable --for spam.example.com --yes', '<%= config.bin %> invite list --available | cut -f1 | <%= config.bin %> invite disable - --yes']
  static override strict = false
  static override flags = {
    for: Flags.string({ description: "Disable every code of this account (handle or DID)." }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: 'Show what would be disabled, change nothing.' }),
  }

  async run(): Promise<InviteDisableResult> {
    let codes = [...this.positionals]
    if (codes.includes('-')) codes = [...codes.filter((c) => c !== '-'), ...parseBatchLines(await this.readStdin('invite codes'))]
    for (const c of codes) if (!/^[A-Za-z0-9][A-Za-z0-9-]{3,}$/.test(c)) throw new UsageError(`"${c}" does not look like an invite code`)
    if (!codes.length && !this.flags.for) throw new UsageError('name the codes to disable, or --for ACCOUNT')
    const ref = this.flags.for ? parseAccountRef(this.flags.for) : undefined
    const client = await this.client()
    const forDid = ref ? await resolveDid(client, ref, { admin: true }) : null
    // The PDS ignores unknown codes without a word: never report them disabled.
    await ensureInvitesExist(client, codes)
    const result: InviteDisableResult = { codes, forAccount: forDid, dryRun: Boolean(this.flags['dry-run']) }
    const what = [codes.length ? `${codes.length} invite code${codes.length === 1 ? '' : 's'}` : '', forDid ? `every code of ${this.flags.for}` : ''].filter(Boolean).join(' and ')
    if (!this.flags['dry-run']) {
      await this.confirmOrYes(`Disable ${what}?`, this.flags.yes)
      await disableInvites(client, { codes: codes.length ? codes : undefined, accounts: forDid ? [forDid] : undefined })
    }
    if (this.out.json) await this.out.printJson(result)
    else if (codes.length) await this.out.write(codes.map((c) => c + '\n').join(''))
    this.out.status(this.flags['dry-run'] ? `Dry run: would disable ${what}.` : `Disabled ${what}.`)
    return result
  }
}
