import { TakedownCommand, blobArgs, takedownFlags } from '../../base/takedown-command.js'
import type { SubjectTakedownResult } from '../../lib/admin/moderation.js'

export default class BlobTakedown extends TakedownCommand<typeof BlobTakedown> {
  static override summary = 'Take down one blob (an image or video), by account and CID'
  static override description = `Calls com.atproto.admin.updateSubjectStatus with a repoBlobRef. Asks first on a terminal; needs --yes otherwise.
The blob must be in that account's repo (checked first with getSubjectStatus: the PDS itself accepts any CID silently): otherwise exit 4. The CID is parsed (multiformats); a malformed one is exit 2.
JSON: {subject: {did, cid}, takendown, ref, dryRun}.`
  static override examples = ['<%= config.bin %> blob takedown alice.example.com bafkreiabc… --yes']
  static override args = blobArgs
  static override flags = takedownFlags(true, 'Check the input, change nothing.')
  protected readonly applied = true

  async run(): Promise<SubjectTakedownResult> {
    return this.blobTakedown()
  }
}
