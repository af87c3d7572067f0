// The shape shared by `record takedown|untakedown` and `blob takedown|untakedown`: each
// pair differs only in whether the takedown is applied (and --ref, which only a takedown
// stores). The checks and the calls stay in src/lib/admin/moderation.ts.
import * as Args from './args.js'
import * as Flags from './flags.js'
import type { CommandClass } from './command.js'
// AccountCommand (not PdsCommand): its confirmation turns a "no" into exit 2 (cancelled).
import { AccountCommand } from './account-command.js'
import { parseAccountRef } from '../lib/pds/identifiers.js'
import { parseAtUri, parseCid, takedownBlob, takedownRecord, type SubjectTakedownResult } from '../lib/admin/moderation.js'

export const recordArgs = { uri: Args.string({ description: 'The record: at://DID-or-handle/collection/rkey.', required: true }) }

export const blobArgs = {
  account: Args.string({ description: 'The account: handle or DID.', required: true }),
  cid: Args.string({ description: 'The blob CID.', required: true }),
}

/** --ref (takedown only), --yes, --dry-run. */
export function takedownFlags(applied: boolean, dryRunDescription: string) {
  return {
    ...(applied ? { ref: Flags.string({ description: 'A reference stored with the takedown (ticket or report id).' }) } : {}),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: dryRunDescription }),
  }
}

interface TakedownFlagValues {
  ref?: string
  yes?: boolean
  'dry-run'?: boolean
}

export abstract class TakedownCommand<T extends CommandClass> extends AccountCommand<T> {
  /** true: take down; false: reverse the takedown. */
  protected abstract readonly applied: boolean

  private get takedownFlags(): TakedownFlagValues {
    return this.flags as TakedownFlagValues
  }

  private async confirm(what: string): Promise<void> {
    const f = this.takedownFlags
    if (!f['dry-run']) await this.confirmOrYes(this.applied ? `Take down ${what}?` : `Reverse the takedown of ${what}?`, f.yes)
  }

  protected async recordTakedown(): Promise<SubjectTakedownResult> {
    const { uri } = this.args as { uri: string }
    const f = this.takedownFlags
    parseAtUri(uri)
    await this.confirm(uri)
    const res = await takedownRecord(await this.client(), { uri, applied: this.applied, ref: f.ref, dryRun: f['dry-run'] })
    return this.print(res)
  }

  protected async blobTakedown(): Promise<SubjectTakedownResult> {
    const { account, cid } = this.args as { account: string; cid: string }
    const f = this.takedownFlags
    parseAccountRef(account)
    parseCid(cid)
    await this.confirm(`blob ${cid} of ${account}`)
    const res = await takedownBlob(await this.client(), { account, cid, applied: this.applied, ref: f.ref, dryRun: f['dry-run'] })
    return this.print(res)
  }

  private async print(res: SubjectTakedownResult): Promise<SubjectTakedownResult> {
    if (this.out.json) await this.out.printJson(res)
    else await this.out.printFields([...(Object.entries(res.subject) as Array<[string, unknown]>), ['takendown', res.takendown], ['dry run', res.dryRun]])
    return res
  }
}
