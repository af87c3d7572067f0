import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
// AccountCommand: its confirmation turns a "no" into exit 2 (cancelled), as for the account verbs.
import { AccountCommand } from '../../base/account-command.js'
import { parseAtUri, takedownRecord, type SubjectTakedownResult } from '../../lib/admin/moderation.js'

export default class RecordTakedown extends AccountCommand<typeof RecordTakedown> {
  static override summary = 'Take down one record, by AT-URI'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with the record's strong reference (its CID is looked up on the PDS). Asks first on a terminal; needs --yes otherwise.
JSON: {subject: {uri, cid}, takendown, ref, dryRun}.`
  static override examples = ['<%= config.bin %> record takedown at://alice.example.com/app.bsky.feed.post/3k2abc --yes']
  static override args = { uri: Args.string({ description: 'The record: at://DID-or-handle/collection/rkey.', required: true }) }
  static override flags = {
    ref: Flags.string({ description: 'A reference stored with the takedown (ticket or report id).' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: 'Look the record up, change nothing.' }),
  }

  async run(): Promise<SubjectTakedownResult> {
    parseAtUri(this.args.uri)
    if (!this.flags['dry-run']) await this.confirmOrYes(`Take down ${this.args.uri}?`, this.flags.yes)
    const res = await takedownRecord(await this.client(), { uri: this.args.uri, applied: true, ref: this.flags.ref, dryRun: this.flags['dry-run'] })
    if (this.out.json) await this.out.printJson(res)
    else await this.out.printFields([...(Object.entries(res.subject) as Array<[string, unknown]>), ['takendown', res.takendown], ['dry run', res.dryRun]])
    return res
  }
}
