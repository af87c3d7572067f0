import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
// AccountCommand: its confirmation turns a "no" into exit 2 (cancelled), as for the account verbs.
import { AccountCommand } from '../../base/account-command.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'
import { parseCid, takedownBlob, type SubjectTakedownResult } from '../../lib/admin/moderation.js'

export default class BlobUntakedown extends AccountCommand<typeof BlobUntakedown> {
  static override summary = 'Reverse the takedown of one blob (an image or video), by account and CID'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with a repoBlobRef. Asks first on a terminal; needs --yes otherwise.
The blob must be in that account's repo (checked first with getSubjectStatus: the PDS itself accepts any CID silently): otherwise exit 4. The CID is parsed (multiformats); a malformed one is exit 2.
JSON: {subject: {did, cid}, takendown, ref, dryRun}.`
  static override examples = ['<%= config.bin %> blob untakedown alice.example.com bafkreiabc… --yes']
  static override args = {
    account: Args.string({ description: 'The account: handle or DID.', required: true }),
    cid: Args.string({ description: 'The blob CID.', required: true }),
  }
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: 'Check the input, change nothing.' }),
  }

  async run(): Promise<SubjectTakedownResult> {
    parseAccountRef(this.args.account)
    parseCid(this.args.cid)
    if (!this.flags['dry-run']) await this.confirmOrYes(`Reverse the takedown of blob ${this.args.cid} of ${this.args.account}?`, this.flags.yes)
    const res = await takedownBlob(await this.client(), { account: this.args.account, cid: this.args.cid, applied: false, dryRun: this.flags['dry-run'] })
    if (this.out.json) await this.out.printJson(res)
    else await this.out.printFields([...(Object.entries(res.subject) as Array<[string, unknown]>), ['takendown', res.takendown], ['dry run', res.dryRun]])
    return res
  }
}
