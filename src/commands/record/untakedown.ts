import { TakedownCommand, recordArgs, takedownFlags } from '../../base/takedown-command.js'
import type { SubjectTakedownResult } from '../../lib/admin/moderation.js'

export default class RecordUntakedown extends TakedownCommand<typeof RecordUntakedown> {
  static override summary = 'Reverse the takedown of one record, by AT-URI'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with the record's strong reference (its CID is looked up on the PDS). Asks first on a terminal; needs --yes otherwise.
JSON: {subject: {uri, cid}, takendown, ref, dryRun}.`
  static override examples = ['<%= config.bin %> record untakedown at://alice.example.com/app.bsky.feed.post/3k2abc --yes']
  static override args = recordArgs
  static override flags = takedownFlags(false, 'Look the record up, change nothing.')
  protected readonly applied = false

  async run(): Promise<SubjectTakedownResult> {
    return this.recordTakedown()
  }
}
