import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { PdsctlError, UsageError } from '../../lib/errors.js'
import type { RestoreResult } from '../../lib/backup/restore.js'

export default class BackupRestore extends PdsCommand<typeof BackupRestore> {
  static override summary = "Import an account's saved repository and blobs back into it, as that account"
  static override description = `What the PDS allows over XRPC: logged in as the account (its own password from --password-stdin or a hidden prompt, never the admin password), com.atproto.repo.importRepo with the saved repository, then com.atproto.repo.uploadBlob for every blob the PDS reports missing. Use it after an account's records were lost, or when the account was recreated with the same DID.
It cannot restore what a backup does not hold: password hashes, signing and rotation keys, preferences, app passwords (see the README). The PDS refuses imports into a taken-down account.
It restores only what it proves, before sending anything: the manifest's entry must name the files pdsctl writes (no path or CID that leads elsewhere, no symbolic link), every saved commit must be the account's, the newest the head the manifest names, and its signature must match the account's key in its DID document (from --plc-url; a warning when that cannot be fetched). The manifest's PDS and DID are shown; a backup of another PDS is refused without --allow-other-pds, and a handle that is another DID's on the PDS is refused (name the DID). Exit 2 for each refusal.`
  static override examples = [
    "printf '%s' \"$ALICE_PASSWORD\" | <%= config.bin %> backup restore /backups/pds alice.example.com --password-stdin --yes",
    '<%= config.bin %> backup restore /backups/pds did:plc:abc123 --dry-run',
  ]
  static override args = {
    dir: Args.string({ description: 'The backup folder.', required: true }),
    account: Args.string({ description: 'The account to restore: its DID, or its handle as saved in the backup.', required: true }),
  }
  static override flags = {
    'password-stdin': Flags.boolean({ description: "Read the account's password from stdin." }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (required when not on a terminal).' }),
    'dry-run': Flags.boolean({ description: 'Show what would be imported; send nothing.' }),
    'allow-other-pds': Flags.boolean({ description: 'Restore into this PDS although the backup was taken from another one.' }),
    'plc-url': Flags.string({ description: 'The PLC directory for did:plc documents, to check the saved signature (default PDS_DID_PLC_URL from the environment or env file, else https://plc.directory).' }),
  }

  async run(): Promise<RestoreResult> {
    const { parseAccountRef } = await import('../../lib/pds/identifiers.js')
    const ref = parseAccountRef(this.args.account)
    if (this.flags['password-stdin'] && this.flags['admin-password-stdin']) {
      throw new UsageError('--password-stdin and --admin-password-stdin cannot both read stdin', { hint: 'restore needs only the account password' })
    }
    const { plcDirectoryUrl } = await import('../../lib/pds/urls.js')
    const plcUrl = plcDirectoryUrl(this.flags['plc-url'], (await this.settings()).plcUrl)
    const [{ planRestore, restoreAccount }, { didDocResolver }] = await Promise.all([import('../../lib/backup/restore.js'), import('../../lib/backup/verify.js')])
    const { plan, state } = await planRestore(this.args.dir, this.args.account, { resolveDidDoc: didDocResolver(plcUrl) })
    for (const w of plan.warnings) this.out.warn(w)
    this.out.status(
      `The backup holds ${plan.did}${plan.handle ? ` (${plan.handle})` : ''} at rev ${plan.rev}, taken from ${plan.pds.url ?? 'an unnamed PDS'}${plan.pds.did ? ` (${plan.pds.did})` : ''}; signature ${plan.signatureVerified ? 'verified' : 'not checked'}`,
    )
    if (this.flags['dry-run']) {
      const result: RestoreResult = { ...plan, dryRun: true, imported: false, blobsUploaded: 0, blobsStillMissing: [] }
      await this.render(result)
      this.out.status(`Dry run: would import ${plan.did} at rev ${plan.rev} and up to ${plan.blobs} blobs; nothing sent`)
      return result
    }
    const password = this.flags['password-stdin']
      ? await this.readStdin("the account's password")
      : await this.promptSecret(`Password for ${plan.handle ?? plan.did}:`, "Pass the account's password with --password-stdin")
    if (!password) throw new UsageError("the account's password is empty")
    await this.confirmOrYes(`Import the saved repository of ${plan.handle ?? plan.did} (rev ${plan.rev}) into the account on the PDS?`, this.flags.yes)
    const client = await this.client()
    const result = await restoreAccount(client, {
      dir: this.args.dir,
      state,
      plan,
      password,
      allowOtherPds: this.flags['allow-other-pds'],
      namedHandle: ref.kind === 'handle' ? ref.handle : undefined,
      onStatus: (l) => this.out.status(l),
    })
    await this.render(result)
    if (result.blobsStillMissing.length) {
      throw new PdsctlError(`the repository was imported but the PDS still misses ${result.blobsStillMissing.length} blob(s) the backup does not hold: ${result.blobsStillMissing.slice(0, 5).join(', ')}`, {
        hint: 'Those blobs were never backed up (check `pdsctl backup verify`); the records that use them show no image',
      })
    }
    this.out.status(`Restored ${result.handle ?? result.did}: repository imported (rev ${result.rev}), ${result.blobsUploaded} blobs uploaded`)
    return result
  }

  private async render(r: RestoreResult): Promise<void> {
    if (this.out.json) await this.out.printJson(r)
    else {
      await this.out.printFields([
        ['did', r.did],
        ['handle', r.handle],
        ['rev', r.rev],
        ['from pds', r.pds.url],
        ['from pds did', r.pds.did],
        ['signature verified', r.signatureVerified],
        ['cars', r.cars],
        ['blobs in backup', r.blobs],
        ['imported', r.imported],
        ['blobs uploaded', r.blobsUploaded],
        ['dry run', r.dryRun],
      ])
    }
  }
}
